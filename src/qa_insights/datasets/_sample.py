"""The bundled sample: how it is made, written and read.

The sample ships inside the package (``qa_insights/data/``) as gzipped CSV, written byte for byte
reproducibly (gzip mtime 0, no file name, ``\\n`` line ends), so the test suite can regenerate
it and compare.
"""

from __future__ import annotations

import gzip
import io
import logging
from importlib.resources import files
from pathlib import Path

import pandas as pd

from ._generator import DEFAULT_PERIODS, GeneratedData, generate_assessments

__all__ = ["SAMPLE_PATH", "SAMPLE_TRUTH_PATH", "SAMPLE_PARAMS", "load_sample",
           "load_sample_truth", "generate_sample", "write_sample", "csv_bytes", "gzip_bytes"]

logger = logging.getLogger(__name__)

#: Arguments of :func:`generate_assessments` that make the bundled sample.
SAMPLE_PARAMS: dict = {
    "periods": list(DEFAULT_PERIODS),
    "records_per_period": 700,
    "malformed_rate": 0.01,
    "multilingual_tickets": True,
    "seed": 20261,
}

_DATA = files("qa_insights").joinpath("data")
#: The bundled sample assessments (gzipped CSV, raw strings, unredacted synthetic PII).
SAMPLE_PATH = _DATA.joinpath("sample_assessments.csv.gz")
#: Ground truth of the bundled sample, row-aligned with it.
SAMPLE_TRUTH_PATH = _DATA.joinpath("sample_truth.csv.gz")


def generate_sample() -> GeneratedData:
    """Generate the bundled sample afresh (what ``python -m qa_insights.datasets
    --write-sample`` writes)."""
    return generate_assessments(**SAMPLE_PARAMS)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV bytes, the way the sample files hold it."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def gzip_bytes(raw: bytes) -> bytes:
    """Gzip ``raw`` reproducibly: no time stamp and no file name in the header."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as fh:
        fh.write(raw)
    return buf.getvalue()


def write_sample(directory: str | Path | None = None) -> tuple[Path, Path]:
    """Write the sample and its truth as gzipped CSV into ``directory``.

    Parameters
    ----------
    directory : path, optional
        Where to write; default: the package's ``data/`` folder (for maintainers).

    Returns
    -------
    (records_path, truth_path) : tuple of Path
    """
    out = Path(str(_DATA)) if directory is None else Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    data = generate_sample()
    paths = (out / "sample_assessments.csv.gz", out / "sample_truth.csv.gz")
    for path, frame in zip(paths, (data.records, data.truth)):
        path.write_bytes(gzip_bytes(csv_bytes(frame)))
        logger.info("wrote %s (%d rows)", path, len(frame))
    return paths


def load_sample() -> pd.DataFrame:
    """The bundled sample assessments, as pandas reads the CSV with ``dtype=str``.

    Returns
    -------
    DataFrame
        The data-contract columns, every value a string (missing: NaN), including the
        malformed rows and unredacted synthetic personal data.
    """
    with SAMPLE_PATH.open("rb") as fh:
        return pd.read_csv(fh, compression="gzip", dtype=str)


def load_sample_truth() -> pd.DataFrame:
    """Ground truth of the bundled sample, row-aligned with :func:`load_sample`.

    Returns
    -------
    DataFrame
        ``record_id, period, failure_mode, policy_area_true, planted_theme`` (str),
        ``root_cause_match`` (bool), ``malformed_reason`` (str), ``wording`` (Int64).
    """
    with SAMPLE_TRUTH_PATH.open("rb") as fh:
        truth = pd.read_csv(fh, compression="gzip", dtype=str)
    truth["root_cause_match"] = truth["root_cause_match"].map({"True": True, "False": False})
    truth["root_cause_match"] = truth["root_cause_match"].astype(bool)
    truth["wording"] = pd.to_numeric(truth["wording"]).astype("Int64")
    return truth
