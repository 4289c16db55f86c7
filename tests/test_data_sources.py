"""The dataset catalogue: complete, consistent, and a lookup with helpful errors."""

import dataclasses
from pathlib import Path

import pytest

from unet_course.data import sources

ARTICLE = ["PASCAL VOC 2012", "COCO", "BDD100K", "CamVid", "Cityscapes", "Mapillary Vistas", "ApolloScape"]


def test_the_seven_article_datasets_and_two_more():
    article = [info for info in sources.DATASETS if info.in_article]
    assert len(article) == 7
    for word, info in zip(ARTICLE, article):
        assert word.lower() in info.name.lower()
    extra = {info.key for info in sources.DATASETS if not info.in_article}
    assert extra == {"isbi2012", "oxford-pet"}


def test_every_field_is_filled_and_urls_are_web_addresses():
    for info in sources.DATASETS:
        for field in dataclasses.fields(info):
            value = getattr(info, field.name)
            if field.name != "notes":
                assert value not in ("", None), f"{info.key}.{field.name} is empty"
        assert info.url.startswith(("http://", "https://"))
    assert len(set(sources.dataset_names())) == len(sources.DATASETS)


def test_entries_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        sources.DATASETS[0].classes = "many"


@pytest.mark.parametrize(
    "name, key",
    [
        ("voc2012", "voc2012"),
        ("Cityscapes", "cityscapes"),
        ("Oxford-IIIT Pet", "oxford-pet"),
        ("mapillary vistas", "mapillary-vistas"),
        ("COCO_STUFF", "coco-stuff"),
    ],
)
def test_get_dataset_accepts_keys_and_names(name, key):
    assert sources.get_dataset(name).key == key


def test_get_dataset_unknown_lists_the_known_names():
    with pytest.raises(ValueError, match="known datasets: voc2012, coco-stuff"):
        sources.get_dataset("ADE20K")
    with pytest.raises(ValueError):
        sources.get_dataset("")


def test_facts_the_notebook_relies_on():
    assert sources.get_dataset("isbi2012").resolution.startswith("512 x 512")
    assert "30 training" in sources.get_dataset("isbi2012").images
    assert sources.get_dataset("cityscapes").resolution == "2048 x 1024"
    assert "19 scored" in sources.get_dataset("cityscapes").classes


def test_rows_and_markdown_table():
    rows = sources.dataset_rows(["key", "licence"], article_only=True)
    assert len(rows) == 7 and set(rows[0]) == {"key", "licence"}
    table = sources.markdown_table(("name", "url"))
    lines = table.splitlines()
    assert len(lines) == 2 + len(sources.DATASETS)
    assert all(line.count(" | ") == 1 for line in lines[2:])  # no stray "|" inside a cell
    with pytest.raises(ValueError, match="Unknown column"):
        sources.dataset_rows(["size"])


README = Path(__file__).resolve().parent.parent / "data" / "README.md"


def test_data_readme_table_is_the_catalogue():
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- datasets:start -->")[1].split("<!-- datasets:end -->")[0]
    assert table.strip() == sources.markdown_table().strip(), (
        "regenerate the table from unet_course.data.sources.markdown_table()"
    )
    assert len(sources.dataset_names()) >= 9
