"""data/README.md shows the dataset catalogue as it is in the package."""

from pathlib import Path

from unet_course.data.sources import dataset_names, markdown_table

README = Path(__file__).resolve().parent.parent / "data" / "README.md"


def test_data_readme_table_is_the_catalogue():
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- datasets:start -->")[1].split("<!-- datasets:end -->")[0]
    assert table.strip() == markdown_table().strip(), "regenerate the table from unet_course.data.sources.markdown_table()"
    assert len(dataset_names()) >= 9
