"""Regenerate the bundled sample: ``python -m qa_insights.datasets --write-sample``."""

from __future__ import annotations

import argparse
import logging
import sys

from ._sample import SAMPLE_PARAMS, write_sample


def main(argv: list[str] | None = None) -> int:
    """Command line of the datasets module; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m qa_insights.datasets",
        description="Generate the bundled QA-assessment sample with planted ground truth.")
    parser.add_argument("--write-sample", action="store_true",
                        help=f"write sample_assessments.csv.gz and sample_truth.csv.gz "
                             f"(generate_assessments(**{SAMPLE_PARAMS}))")
    parser.add_argument("--out-dir", default=None,
                        help="folder to write into (default: the package's data/ folder)")
    args = parser.parse_args(argv)
    if not args.write_sample:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in write_sample(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
