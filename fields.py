"""Peewee fields whose values are encrypted at rest (crypto), with an optional
keyed look-up index so rows can still be found by value."""
import json

from peewee import BlobField, CharField, FieldAccessor, TextField

import crypto


class _SensitiveAccessor(FieldAccessor):
    def __set__(self, instance, value):
        super().__set__(instance, value)
        if self.field.index_name:
            index = crypto.blind_index(value) if value else None
            instance.__data__[self.field.index_name] = index
            instance._dirty.add(self.field.index_name)


class SensitiveField(TextField):
    """A value encrypted at rest (AES-GCM), e.g. an ID or phone number.

    With `index=True` (or `unique=True`) the model also gets a column
    `<name>_index` holding a keyed HMAC of the value, kept in step on every
    assignment, so rows can be found with `Model.field.matches(value)`.
    Store values already normalised: the index is of the exact text.
    """

    accessor_class = _SensitiveAccessor

    def __init__(self, index=False, unique=False, **kwargs):
        self.wants_index = index or unique
        self.unique_index = unique
        self.index_name = None
        super().__init__(**kwargs)

    def bind(self, model, name, set_attribute=True):
        super().bind(model, name, set_attribute)
        if self.wants_index:
            self.index_name = f"{name}_index"
            if self.index_name not in model._meta.fields:
                model._meta.add_field(self.index_name, CharField(
                    max_length=64, null=True, unique=self.unique_index,
                    index=not self.unique_index))

    def db_value(self, value):
        return None if value is None else crypto.encrypt(str(value))

    def python_value(self, value):
        return None if value is None else crypto.decrypt(value)

    def matches(self, value):
        return self.model._meta.fields[self.index_name] == crypto.blind_index(value)


class SensitiveJSONField(SensitiveField):
    """A JSON document encrypted at rest (wizard drafts carry ID numbers)."""

    def db_value(self, value):
        return None if value is None else crypto.encrypt(json.dumps(value, ensure_ascii=False))

    def python_value(self, value):
        return None if value is None else json.loads(crypto.decrypt(value))


class SealedBlobField(BlobField):
    """Bytes (an uploaded file) sealed at rest with the data key (crypto.seal)."""

    def db_value(self, value):
        return None if value is None else super().db_value(crypto.seal(value))

    def python_value(self, value):
        return None if value is None else crypto.unseal(bytes(value))
