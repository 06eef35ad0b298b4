"""Fixtures for the import tests (importer and photos): real files in a temporary folder."""
import pytest

from services import importer


@pytest.fixture
def upload_dir(tmp_path):
    return tmp_path / "uploads"


@pytest.fixture
def run(db, tmp_path, upload_dir):
    """Write the bytes to a real file, read it back, and import it."""
    def do(kind, data, name=None, **options):
        path = tmp_path / (name or f"{kind}.csv")
        path.write_bytes(data)
        options.setdefault("upload_dir", upload_dir)
        return importer.import_file(kind, path.name, path.read_bytes(), **options)
    return do
