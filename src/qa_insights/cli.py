"""Command line: ``qa-insights run INPUT --out DIR``.

A thin layer: it parses arguments, configures logging, calls :func:`qa_insights.pipeline.run`
(the same function a notebook calls) and turns errors into exit codes:
0 done, 2 bad input or config (the message names the problem), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .errors import QAInsightsError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-insights",
        description="Failure themes, emerging trends, policy areas and root causes "
                    "from Trust & Safety QA assessments.",
    )
    parser.add_argument("--version", action="version", version=f"qa_insights {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the monthly job on a file of assessments")
    run.add_argument("input", nargs="?", type=Path,
                     help="CSV, Parquet or JSON Lines file in the data contract (with "
                          "--scheduler also a folder or glob of Parquet files)")
    run.add_argument("--sample", action="store_true",
                     help="use the bundled sample data instead of INPUT")
    run.add_argument("--out", required=True, type=Path, help="output folder")
    run.add_argument("--config", type=Path, help="pipeline config (YAML)")
    run.add_argument("--period", help="restrict the run to one period, e.g. 2026-10")
    run.add_argument("--state", help="state database: a file path or any SQLAlchemy URL "
                                     "(default: OUT/state.db)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run on a dask cluster, e.g. tcp://host:8786 (needs the 'dask' extra)")
    run.add_argument("--quiet", action="store_true", help="only warnings and errors")
    run.add_argument("--log-file", type=Path, help="also write the log to this file")

    sample = sub.add_parser("sample", help="write the bundled sample data to a file")
    sample.add_argument("path", type=Path, help="where to write it (.csv)")
    return parser


def _configure_logging(quiet: bool, log_file: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("qa_insights")
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import PipelineConfig, load_config
    from .pipeline import run

    if args.sample == (args.input is not None):
        print("qa-insights run: give either INPUT or --sample", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.sample:
        from .datasets import SAMPLE_PATH

        source = SAMPLE_PATH
    else:
        # a glob of Parquet files goes to the workers as written
        source = str(args.input) if args.scheduler and "*" in str(args.input) else args.input
    config = load_config(args.config) if args.config else PipelineConfig()
    result = run(source, args.out, config, period=args.period, state=args.state,
                 verbose=not args.quiet, client=args.scheduler)
    counts = result.load.counts
    print(f"read {counts['rows_read']} rows: {counts['rows_used']} used, "
          f"{counts['rows_set_aside']} set aside")
    print(result.summary.to_string(index=False))
    print(_emerging_text(result))
    print(f"outputs: {', '.join(sorted(p.name for p in result.files.values()))} in {result.out_dir}")
    return EXIT_OK


def _emerging_text(result) -> str:
    """The last period's themes with a signal, each with its top root cause, as plain lines."""
    period = result.periods[-1]
    emerging = result.emerging(period)
    if emerging.empty:
        return f"{period}: no emerging or growing themes"
    lines = [f"{period}: {len(emerging)} theme(s) with a signal"]
    causes = result.root_causes
    for row in emerging.itertuples():
        top = causes[(causes["theme_id"] == row.theme_id) & (causes["period"] == period)
                     & (causes["rank"] == 1)]
        cause = ""
        if len(top):
            attrs = ", ".join(f"{k} = {v}" for k, v in top.iloc[0]["attributes"].items())
            cause = f"; top cause {attrs} (risk ratio {top.iloc[0]['risk_ratio']:.1f})"
        lines.append(f"  {row.theme_id} [{row.status}, {row.signal}] {row.label}: "
                     f"{row.count} records, {row.share:.1%} of assessments{cause}")
    return "\n".join(lines)


def _cmd_sample(args: argparse.Namespace) -> int:
    from .datasets import load_sample

    args.path.parent.mkdir(parents=True, exist_ok=True)
    load_sample().to_csv(args.path, index=False)
    print(f"wrote {args.path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa-insights`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    _configure_logging(getattr(args, "quiet", False), getattr(args, "log_file", None))
    try:
        if args.command == "run":
            return _cmd_run(args)
        return _cmd_sample(args)
    except QAInsightsError as exc:
        print(f"qa-insights: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:  # noqa: BLE001 - the CLI's last line of defence, logged with traceback
        logging.getLogger("qa_insights").exception("unexpected failure")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
