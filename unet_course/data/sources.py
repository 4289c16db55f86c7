"""A catalogue of real semantic segmentation datasets: the seven the article lists, plus the
U-Net paper's own data (ISBI 2012) and Oxford-IIIT Pet.

Each entry is a frozen :class:`DatasetInfo`. The facts come from the datasets' papers and
official pages. Where a number varies between releases or we could not confirm it, the
field says "approx." or "see the official site" rather than guess: check the official page
before you rely on a number. This module only describes the datasets; it downloads nothing.

>>> get_dataset("cityscapes").resolution
'2048 x 1024'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

__all__ = ["DatasetInfo", "DATASETS", "dataset_names", "get_dataset", "dataset_rows", "markdown_table"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a learner needs to know before choosing a segmentation dataset."""

    key: str  #: short name for :func:`get_dataset`, e.g. ``"voc2012"``
    name: str  #: full name
    in_article: bool  #: listed by the course's seed article
    task: str  #: what is labelled
    classes: str  #: number of classes (and which ones are scored)
    images: str  #: number of images with masks, and splits
    resolution: str  #: image size in pixels (width x height)
    access: str  #: how to get it (free download, registration, ...)
    licence: str  #: licence or terms of use
    url: str  #: official page
    citation: str  #: the paper to cite
    notes: str = ""  #: anything else worth knowing


DATASETS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        key="voc2012",
        name="PASCAL VOC 2012 (segmentation)",
        in_article=True,
        task="objects in everyday photos",
        classes="21: 20 object classes + background (255 marks 'void' borders)",
        images="2,913 with masks (1,464 train, 1,449 val); 1,456 test, masks withheld",
        resolution="varies, at most 500 px a side",
        access="free download",
        licence="no single licence: Flickr images under their owners' terms (see the official site)",
        url="http://host.robots.ox.ac.uk/pascal/VOC/voc2012/",
        citation="Everingham et al., The PASCAL Visual Object Classes (VOC) Challenge, IJCV 88(2), 2010",
        notes="often extended with the SBD annotations to 10,582 training images (Hariharan et al., ICCV 2011)",
    ),
    DatasetInfo(
        key="coco-stuff",
        name="COCO-Stuff (COCO 2018 Stuff Segmentation task)",
        in_article=True,
        task="'stuff' (grass, sky, wall) and 'things' (person, car) in everyday photos",
        classes="91 stuff + 80 thing classes; the challenge scores 91 stuff classes + one 'other' class for all things",
        images="about 164,000 (all of COCO 2017: about 118k train, 5k val, 41k test)",
        resolution="varies, about 640 px on the longer side (approx.)",
        access="free download",
        licence="annotations CC BY 4.0; images under the Flickr terms of use",
        url="https://cocodataset.org/#stuff-2018",
        citation="Caesar, Uijlings & Ferrari, COCO-Stuff: Thing and Stuff Classes in Context, CVPR 2018",
        notes="COCO-Stuff annotations and code: https://github.com/nightrome/cocostuff",
    ),
    DatasetInfo(
        key="bdd100k",
        name="BDD100K (Berkeley DeepDrive)",
        in_article=True,
        task="driving scenes from dashboard cameras",
        classes="19 scored (the Cityscapes 19); 255 = unknown, not scored",
        images="10,000 with masks (7,000 train, 1,000 val, 2,000 test); the whole dataset has 100,000 driving videos",
        resolution="1280 x 720",
        access="free after registration",
        licence="BDD100K licence (custom terms, see the official site)",
        url="https://www.bdd100k.com/",
        citation="Yu et al., BDD100K: A Diverse Driving Dataset for Heterogeneous Multitask Learning, CVPR 2020",
        notes=(
            "the 10,000 segmentation images overlap with the videos' frames but are not a subset of them "
            "(official docs)"
        ),
    ),
    DatasetInfo(
        key="camvid",
        name="CamVid (Cambridge-driving Labeled Video Database)",
        in_article=True,
        task="driving scenes, frames of videos",
        classes="32 in the original labels; 11 (+ void) in the widely used SegNet split",
        images="701 labelled frames (SegNet split: 367 train, 101 val, 233 test)",
        resolution="960 x 720",
        access="free download",
        licence="see the official site",
        url="http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/",
        citation=(
            "Brostow, Fauqueur & Cipolla, Semantic object classes in video: "
            "a high-definition ground truth database, Pattern Recognition Letters 30(2), 2009"
        ),
    ),
    DatasetInfo(
        key="cityscapes",
        name="Cityscapes",
        in_article=True,
        task="street scenes from 50 cities",
        classes="30 labelled, 19 scored",
        images="5,000 finely annotated (2,975 train, 500 val, 1,525 test) + 20,000 coarsely annotated",
        resolution="2048 x 1024",
        access="free after registration, non-commercial use",
        licence="Cityscapes licence: non-commercial purposes only (see the official site)",
        url="https://www.cityscapes-dataset.com/",
        citation="Cordts et al., The Cityscapes Dataset for Semantic Urban Scene Understanding, CVPR 2016",
    ),
    DatasetInfo(
        key="mapillary-vistas",
        name="Mapillary Vistas",
        in_article=True,
        task="street-level photos from around the world, many cameras",
        classes="66 object categories (v1.x); v2.0 has more (see the official site)",
        images="25,000 (18,000 train, 2,000 val, 5,000 test)",
        resolution="varies, high resolution (about full HD and up, approx.)",
        access="free after registration for research",
        licence="CC BY-NC-SA 4.0 for research (see the official site)",
        url="https://www.mapillary.com/dataset/vistas",
        citation="Neuhold et al., The Mapillary Vistas Dataset for Semantic Understanding of Street Scenes, ICCV 2017",
    ),
    DatasetInfo(
        key="apolloscape",
        name="ApolloScape Scene Parsing",
        in_article=True,
        task="driving scenes, video frames with 3D point clouds",
        classes="see the official site (the class list changed between releases)",
        images="over 140,000 frames with masks in the first release (approx.)",
        resolution="about 3384 x 2710 (approx., see the official site)",
        access="free after registration",
        licence="see the official site",
        url="http://apolloscape.auto/scene.html",
        citation="Huang et al., The ApolloScape Dataset for Autonomous Driving, CVPR Workshops 2018",
    ),
    DatasetInfo(
        key="isbi2012",
        name="ISBI 2012 EM segmentation challenge (the U-Net paper's data)",
        in_article=False,
        task="cell membranes in electron microscopy (Drosophila larva nerve cord)",
        classes="2: membrane, cell interior",
        images="30 training slices with labels; 30 test slices, labels withheld",
        resolution="512 x 512, 8-bit grey",
        access="free download",
        licence=(
            "no licence stated; the challenge asks you to cite Cardona et al. 2010 and Arganda-Carreras et al. 2015"
        ),
        url="https://downloads.imagej.net/ISBI-2012-challenge.zip",
        citation=(
            "Arganda-Carreras et al., Crowdsourcing the creation of image segmentation algorithms for connectomics, "
            "Front. Neuroanat. 9:142, 2015; data: Cardona et al., PLoS Biol 8(10): e1000502, 2010"
        ),
        notes="notebook 09 trains on it; Ronneberger et al. 2015 report their results on it in Table 1",
    ),
    DatasetInfo(
        key="oxford-pet",
        name="Oxford-IIIT Pet",
        in_article=False,
        task="cats and dogs, one pet per photo",
        classes="3-class trimap: pet, background, border (not classified); 37 breeds as image labels",
        images="7,349 (3,680 trainval, 3,669 test)",
        resolution="varies",
        access="free download",
        licence="CC BY-SA 4.0",
        url="https://www.robots.ox.ac.uk/~vgg/data/pets/",
        citation="Parkhi, Vedaldi, Zisserman & Jawahar, Cats and Dogs, CVPR 2012",
        notes="the data of the Keras 'image segmentation with a U-Net-like architecture' example",
    ),
)

_COLUMNS = tuple(f.name for f in fields(DatasetInfo))


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def dataset_names() -> list[str]:
    """The keys :func:`get_dataset` accepts, in catalogue order."""
    return [info.key for info in DATASETS]


def get_dataset(name: str) -> DatasetInfo:
    """The catalogue entry for ``name``: its key or full name, any case, spaces and dashes ignored.

    >>> get_dataset("Oxford-IIIT Pet").key
    'oxford-pet'
    """
    wanted = _normalise(name)
    for info in DATASETS:
        if wanted and wanted in (_normalise(info.key), _normalise(info.name)):
            return info
    raise ValueError(f"Unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}.")


def dataset_rows(columns=None, *, article_only: bool = False) -> list[dict]:
    """The catalogue as a list of dicts (one per dataset), with the chosen ``columns``."""
    columns = list(columns) if columns is not None else list(_COLUMNS)
    unknown = [c for c in columns if c not in _COLUMNS]
    if unknown:
        raise ValueError(f"Unknown column(s) {unknown}; choose from {', '.join(_COLUMNS)}.")
    chosen = [info for info in DATASETS if info.in_article or not article_only]
    return [{column: asdict(info)[column] for column in columns} for info in chosen]


def markdown_table(
    columns=("name", "classes", "images", "resolution", "access", "licence", "url"), *, article_only: bool = False
) -> str:
    """The catalogue as a Markdown table (display it with ``IPython.display.Markdown``)."""
    rows = dataset_rows(columns, article_only=article_only)

    def cell(value) -> str:
        text = "yes" if value is True else "no" if value is False else str(value)
        if text.startswith("http"):
            text = f"<{text}>"
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
