"""The checksummed download the real-data loaders share (unet_course.data.download), offline:
against ``file://`` folders built here."""

import hashlib

import pytest

from unet_course.data import download
from unet_course.data.download import RemoteDataset

SETTING = "UNET_COURSE_TEST_SOURCE"


@pytest.fixture
def remote(tmp_path, monkeypatch):
    """``(dataset, source folder, checksums)``: three small files and their committed-style list."""
    monkeypatch.delenv(SETTING, raising=False)
    source = tmp_path / "source"
    files = {}
    for relative, content in {"a/1.bin": b"one", "a/2.bin": b"two" * 100, "b/3.bin": b"three"}.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(content)
        files[relative] = hashlib.sha256(content).hexdigest()
    listing = tmp_path / "list_sha256.txt"
    listing.write_text("".join(f"{digest}  {relative}\n" for relative, digest in files.items()))
    dataset = RemoteDataset("Test set", "testset", source.as_uri(), SETTING, "a/1.bin", listing)
    return dataset, source, files


def counting_fetch(monkeypatch):
    """Replace ``download.fetch`` by a wrapper that records the paths it was asked for."""
    asked = []
    real = download.fetch

    def fetch(url, target, sha256, **options):
        asked.append(url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1])
        return real(url, target, sha256, **options)

    monkeypatch.setattr(download, "fetch", fetch)
    return asked


def test_the_list_is_read_and_every_file_is_verified(remote, tmp_path):
    dataset, source, files = remote
    assert dataset.checksums() == files
    root = dataset.download(tmp_path / "cache")
    assert {str(p.relative_to(root)) for p in root.rglob("*.bin")} == set(files)
    assert all(download.sha256_of(root / rel) == digest for rel, digest in files.items())


def test_a_corrupted_file_is_refused_and_removed(remote, tmp_path):
    dataset, source, files = remote
    (source / "a/2.bin").write_bytes(b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"a/2.bin did not match its SHA-256 .* deleted"):
        dataset.download(cache)
    assert not (cache / "a/2.bin").exists()
    assert not [p for p in cache.rglob("*") if p.is_file() and p.name not in ("1.bin", "3.bin")]  # no partial file


def test_a_second_call_fetches_only_what_is_missing(remote, tmp_path, monkeypatch):
    dataset, source, files = remote
    cache = tmp_path / "cache"
    asked = counting_fetch(monkeypatch)
    dataset.download(cache)
    assert sorted(asked) == sorted(files)
    (cache / "b/3.bin").unlink()  # a cut download
    (cache / "a/1.bin").write_bytes(b"corrupt")  # a damaged file: fetched again, not trusted
    asked.clear()
    dataset.download(cache)
    assert sorted(asked) == ["a/1.bin", "b/3.bin"]
    asked.clear()
    dataset.download(cache, base_url=(tmp_path / "gone").as_uri())  # all cached: the source is not asked
    assert asked == [] and (cache / "a/1.bin").read_bytes() == b"one"


def test_offline_the_error_names_the_setting_and_leaves_no_file(remote, tmp_path):
    dataset, _, _ = remote
    cache = tmp_path / "cache"
    with pytest.raises(ConnectionError, match=f"Could not download .*set {SETTING} to a local copy"):
        dataset.download(cache, base_url=(tmp_path / "nowhere").as_uri())
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_one_progress_bar_for_the_set_and_none_when_quiet(remote, tmp_path, capsys):
    dataset, _, _ = remote
    dataset.download(tmp_path / "quiet")
    assert capsys.readouterr().out == ""
    dataset.download(tmp_path / "loud", quiet=False)
    out = capsys.readouterr().out
    assert out.count("fetching 3 of 3 files") == 1 and "3/3" in out
    dataset.download(tmp_path / "loud", quiet=False)  # nothing to fetch: nothing printed
    assert capsys.readouterr().out == ""


def test_the_setting_names_a_folder_or_a_url(remote, tmp_path, monkeypatch):
    dataset, source, _ = remote
    assert dataset.source_url() == source.as_uri()
    monkeypatch.setenv(SETTING, str(source))
    assert dataset.source_url() == source.resolve().as_uri()
    monkeypatch.setenv(SETTING, "https://example.org/mirror/")
    assert dataset.source_url() == "https://example.org/mirror"
    monkeypatch.setenv(SETTING, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is not a folder; point it at a copy holding a/1.bin"):
        dataset.source_url()


def test_availability_from_the_setting_or_a_verified_cache(remote, tmp_path, monkeypatch):
    dataset, source, _ = remote
    cache = tmp_path / "cache"
    ok, reason = dataset.availability(cache)
    assert not ok and SETTING in reason and "Test set" in reason
    dataset.download(cache)
    assert dataset.availability(cache) == (True, "the download cache cache/")
    (cache / "a/1.bin").write_bytes(b"corrupt")
    assert not dataset.availability(cache)[0]
    monkeypatch.setenv(SETTING, str(source))
    assert dataset.availability(cache) == (True, f"the local copy named by {SETTING}")


def test_missing_data_reads_a_notebooks_needs(monkeypatch, tmp_path):
    monkeypatch.setattr(download.config, "cache_dir", lambda: tmp_path)
    monkeypatch.delenv("UNET_COURSE_CAMVID_SOURCE", raising=False)
    assert download.missing_data([]) == "" and download.missing_data(["something else"]) == ""
    assert "UNET_COURSE_CAMVID_SOURCE" in download.missing_data(["camvid"])
    monkeypatch.setenv("UNET_COURSE_CAMVID_SOURCE", str(tmp_path))
    assert download.missing_data(["camvid"]) == ""
