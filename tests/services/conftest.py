"""Fixtures for the import tests (importer and photos): real files in a temporary folder."""
import pytest

from services import importer


@pytest.fixture
def run(db, tmp_path):
    """Write the bytes to a real file, read it back, and import it."""
    def do(kind, data, name=None, **options):
        path = tmp_path / (name or f"{kind}.csv")
        path.write_bytes(data)
        return importer.import_file(kind, path.name, path.read_bytes(), **options)
    return do
