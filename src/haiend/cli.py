"""The ``haiend`` command: machine, tune, roofline, list, spec, bench, report, results, export, slurm,
jobs, sweep, workshop, io.

Bad input (an unknown kernel or variant, a size of zero or too large for memory, an unwritable
results folder) gets one sentence on stderr and exit status 2, before anything is measured or
written. Progress goes to stderr, results to stdout, so ``--json`` output can be piped.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from haiend.errors import HaiendError

USAGE_EXIT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence and exit 2, as for every other bad input
        self.exit(USAGE_EXIT, f"{self.prog}: error: {message} (see '{self.prog} --help').\n")


def build_parser() -> argparse.ArgumentParser:
    from haiend.kernels.spec import TIMING  # the defaults of bench's timing, stated in one place

    parser = _Parser(prog="haiend", description="Measure kernels and this machine's limits honestly.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("machine", help="print this machine's fingerprint")
    p.add_argument("--json", action="store_true", help="print the whole fingerprint as JSON")

    p = commands.add_parser("tune", help="the parameters the labs derive for this (or a saved) machine")
    p.add_argument("--machine", metavar="FILE", help="a fingerprint saved with 'haiend machine --json'")
    p.add_argument("--json", action="store_true", help="print values, rules and inputs as JSON")

    p = commands.add_parser("roofline", help="measure (or show cached) memory and FP64 ceilings")
    p.add_argument("--remeasure", action="store_true", help="measure again even if cached")
    p.add_argument("--quick", action="store_true", help="small sizes: fast, less exact")
    p.add_argument("--json", action="store_true")
    p.add_argument("--results-dir", help="where results and ceilings are kept")

    commands.add_parser("list", help="list kernels and their variants, and which can run here")

    p = commands.add_parser(
        "spec", help="print a kernel's specification (what bench checks, counts and times)"
    )
    p.add_argument("kernel", help="a kernel or group, e.g. stream.triad, stencil2d")
    p.add_argument("--json", action="store_true", help="print it as JSON")

    p = commands.add_parser("bench", help="check, time and record a kernel's variants")
    p.add_argument("kernel", help="a kernel or group, e.g. stream, stream.triad")
    p.add_argument("--variants", help="comma-separated variant names (default: all)")
    p.add_argument("--size", help="problem size, e.g. 1000000 or 512x512x20 (default: from this machine)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the small sizes of tests and first reads (also when HAIEND_SIZE=quick is set)",
    )
    p.add_argument("--threads", type=int, help="threads for parallel variants (default: all usable cores)")
    p.add_argument(
        "--repeat",
        type=int,
        default=TIMING.repeat,
        help=f"timed repeats per variant (default {TIMING.repeat})",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=TIMING.warmup,
        help=f"warm-up calls after the cold one (default {TIMING.warmup})",
    )
    p.add_argument(
        "--max-duration",
        type=float,
        default=TIMING.max_duration_s,
        help=f"seconds of repeats per variant at most (default {TIMING.max_duration_s:g})",
    )
    p.add_argument("--no-roof", action="store_true", help="do not measure or use the ceilings")
    p.add_argument("--no-save", action="store_true", help="do not write records")
    p.add_argument("--results-dir", help="where results are kept (default: $HAIEND_RESULTS_DIR or per user)")
    p.add_argument("--json", action="store_true", help="print the outcomes as JSON")

    p = commands.add_parser("report", help="tables from stored records")
    p.add_argument("--kernel", help="only this kernel or group")
    p.add_argument("--machine", help="only this machine id")
    p.add_argument("--results-dir")
    p.add_argument("--all", action="store_true", help="every run (default: the newest run of each key)")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser(
        "results", help="check, export, import and compare results across machines and sites"
    )
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = actions.add_parser("validate", help="check files, folders or zips against the schemas")
    q.add_argument(
        "paths", nargs="+", metavar="PATH", help="a record, machine.json, ceilings.json, folder or zip"
    )
    q = actions.add_parser("export", help="write this machine's results into a zip to send")
    q.add_argument("out", metavar="OUT.zip")
    q.add_argument("--anonymise", action="store_true", help="hash host and user names (salted)")
    q.add_argument("--site", help="the site name to put in the manifest (lower-case, digits, hyphens)")
    q.add_argument("--results-dir", help="where the results are (default: $HAIEND_RESULTS_DIR or per user)")
    q = actions.add_parser("import", help="file a site's zip or folder into the catalogue (all or nothing)")
    q.add_argument("source", metavar="ZIP|DIR")
    q.add_argument("--site", help="the site the results come from (default: the zip's manifest)")
    q.add_argument("--catalogue", default="results", help="the catalogue folder (default: ./results)")
    q = actions.add_parser("compare", help="two machines, two variants or two runs, with the noise")
    q.add_argument("a", metavar="A", help="a record file, KERNEL:VARIANT[@MACHINE], or a machine id")
    q.add_argument("b", metavar="B", help="the same kinds as A")
    q.add_argument(
        "--results-dir",
        action="append",
        help="folder or catalogue to read (repeatable; default: $HAIEND_RESULTS_DIR or per user)",
    )
    q.add_argument("--kernel", help="only this kernel or group (machine against machine)")
    q.add_argument(
        "--by",
        choices=("time", "energy"),
        default="time",
        help="compare speed (default) or energy to solution: the joules of one call",
    )
    q.add_argument(
        "--min-effect",
        type=float,
        help="smallest relative difference that counts (default from haiend.stats)",
    )
    q.add_argument("--json", action="store_true")

    p = commands.add_parser("export", help="the built book for a learning platform")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = actions.add_parser(
        "moodle",
        help="an IMS Common Cartridge 1.1 for Moodle's course restore (and an IMS content package)",
    )
    q.add_argument("out", metavar="OUT.imscc", help="the cartridge to write (Moodle: Restore)")
    q.add_argument("--source", default=".", help="the book's root, with _toc.yml and labs/ (default: .)")
    q.add_argument("--book", help="the built HTML folder (default: SOURCE/_build/html)")
    q.add_argument("--base-url", help="where the book is hosted: each page also gets a web link there")
    q.add_argument("--hub", help="a JupyterHub: each lab also gets an nbgitpuller link that opens it there")
    q.add_argument("--repo", help="the repository the hub pulls (needed with --hub)")
    q.add_argument("--branch", default="main", help="the branch the hub pulls (default: main)")
    q.add_argument(
        "--content-package", metavar="OUT.zip", help="also write the whole book as an IMS content package"
    )

    p = commands.add_parser("slurm", help="write a Slurm batch script (or job array) from a site profile")
    p.add_argument("profile", help="the site profile: .toml (Python 3.11+) or .json")
    p.add_argument("kernel", help="a kernel or group, e.g. stencil2d")
    p.add_argument(
        "--array", nargs="*", metavar="VALUE", help="a job array over these values (none: the profile's)"
    )
    p.add_argument(
        "--sweep",
        choices=("size", "threads", "cflags"),
        default="size",
        help="what --array varies (default size; cflags: $HAIEND_CFLAGS of the c variant)",
    )
    p.add_argument(
        "--size", help="the problem size of every bench (default: the machine's, or the swept sizes)"
    )
    p.add_argument("--output", help="write the script here (default: print it); an existing file is kept")
    p.add_argument("--force", action="store_true", help="replace an existing --output file")
    p.add_argument(
        "--apptainer-def",
        metavar="OUT.def",
        help="also write the Apptainer definition file of the profile's [container] table (untested here)",
    )

    p = commands.add_parser(
        "container", help="an Apptainer-style image: build it, run a kernel inside and outside"
    )
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("check", help="say whether an image can be built and entered here, and why not")
    actions.add_parser(
        "build", help="build the image (mmdebstrap, mksquashfs) into the cache, once per recipe"
    )
    q = actions.add_parser(
        "compare", help="the same bench natively, in the image and natively again, compared"
    )
    q.add_argument("kernel", nargs="?", default="stream.triad", help="a kernel (default stream.triad)")
    q.add_argument("--variants", default="c,numpy", help="comma-separated variants (default c,numpy)")
    q.add_argument("--size", help="problem size (default: from this machine)")
    q.add_argument("--threads", type=int, default=1, help="threads (default 1)")
    q.add_argument("--repeat", type=int, default=20, help="timed repeats per run (default 20)")
    q.add_argument("--folder", required=True, help="where the three runs' records go (native/, container/)")
    q.add_argument("--json", action="store_true", help="print the comparison as JSON")

    p = commands.add_parser("workshop", help="run the labs as a workshop on a JupyterHub")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = actions.add_parser(
        "collect", help="gather every attendee's records from their homes into one class results folder"
    )
    q.add_argument("homes", metavar="HOMES_GLOB_OR_DIR", help="a glob of homes ('/home/*') or their folder")
    q.add_argument("out", metavar="OUT", help="the class results folder (one subfolder per attendee)")
    q = actions.add_parser("links", help="print every lab's nbgitpuller launch link, for the slides")
    q.add_argument(
        "--hub", required=True, metavar="URL", help="the JupyterHub, e.g. https://hub.example.ac.uk"
    )
    q.add_argument("--repo", metavar="URL", help="the repository the hub pulls (default: git's origin)")
    q.add_argument("--branch", default="main", help="the branch it pulls (default: main)")
    q.add_argument("--book", default=".", metavar="DIR", help="the checkout with _toc.yml (default: .)")
    q = actions.add_parser("prepare", help="student copies of every lab (solutions out), for a hub to pull")
    q.add_argument(
        "out", nargs="?", metavar="OUT", help="a new folder: a git repository to push (or use --branch)"
    )
    q.add_argument("--branch", help="write a branch of this checkout instead of a folder")
    q.add_argument("--force", action="store_true", help="replace an existing --branch")
    q.add_argument("--book", default=".", metavar="DIR", help="the checkout (default: .)")
    q = actions.add_parser(
        "class", help="the class comparison: one attendee per row, with their roof fraction"
    )
    q.add_argument("folder", metavar="OUT", help="the class results folder that 'collect' wrote")
    q.add_argument("--kernel", help="the kernel to compare (default: the one the most attendees ran)")

    p = commands.add_parser("jobs", help="each element of a Slurm job or array: state, exit code, log")
    p.add_argument("job_id", metavar="JOBID", help="a job or job array id, e.g. 12 or 12_3")

    p = commands.add_parser(
        "sweep",
        help="a feedback loop: arrays of the c matmul, each round's blocks chosen from the last's records",
    )
    p.add_argument("profile", help="the site profile (.toml or .json) the arrays' scripts are written from")
    p.add_argument(
        "--executor",
        choices=("slurm", "local"),
        default="slurm",
        help="sbatch (default) or subprocesses here",
    )
    p.add_argument("--size", default="96x1024x1024", help="the matmul size m x k x n (default 96x1024x1024)")
    p.add_argument("--rounds", type=int, default=3, help="arrays at most, the first included (default 3)")
    p.add_argument(
        "--workdir", required=True, help="a new folder for the scripts, logs and records of every round"
    )
    p.add_argument("--json", action="store_true", help="print every round's values and times as JSON")

    p = commands.add_parser("io", help="read N small samples from five layouts, cold and warm, and record it")
    p.add_argument(
        "--samples", type=int, help="how many samples (default: from HAIEND_SIZE and this machine)"
    )
    p.add_argument("--sample-bytes", type=int, help="bytes per sample (default: from HAIEND_SIZE)")
    p.add_argument("--folder", help="where the data set is written, in a temporary folder removed afterwards")
    p.add_argument("--layouts", help="comma-separated: files,tar,hdf5,parquet,memmap (default all)")
    p.add_argument("--repeat", type=int, default=3, help="cold and warm reads timed per layout (default 3)")
    p.add_argument(
        "--drop-caches", action="store_true", help="as root, empty the whole page cache before each cold read"
    )
    p.add_argument("--profile", help="a site profile whose [io] table gives the metadata latency")
    p.add_argument("--no-syscalls", action="store_true", help="do not count system calls with strace")
    p.add_argument("--results-dir", help="where records go (default $HAIEND_RESULTS_DIR or the data folder)")
    p.add_argument("--no-save", action="store_true", help="measure without writing records")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {
            "machine": cmd_machine,
            "tune": cmd_tune,
            "roofline": cmd_roofline,
            "list": cmd_list,
            "spec": cmd_spec,
            "bench": cmd_bench,
            "report": cmd_report,
            "slurm": cmd_slurm,
            "container": cmd_container,
            "jobs": cmd_jobs,
            "sweep": cmd_sweep,
            "results": cmd_results,
            "workshop": cmd_workshop,
            "export": cmd_export,
            "io": cmd_io,
        }[args.command](args)
    except HaiendError as exc:
        print(f"haiend: error: {exc}", file=sys.stderr)
        _abort_other_ranks(USAGE_EXIT)
        return USAGE_EXIT
    except BrokenPipeError:  # the reader (head, less) went away: stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        if not _mpi_started():
            raise
        import traceback

        traceback.print_exc()
        _abort_other_ranks(1)
        return 1
    except KeyboardInterrupt:
        print("haiend: interrupted; nothing further was written.", file=sys.stderr)
        return 130


def _mpi_started() -> bool:
    return "mpi4py.MPI" in sys.modules


def _abort_other_ranks(code: int) -> None:
    """Under mpiexec, a failure on one rank must end the job, not leave the others waiting in a
    collective for ever: MPI_Abort takes every rank down with this exit code."""
    if _mpi_started():
        from mpi4py import MPI

        if MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
            sys.stderr.flush()
            MPI.COMM_WORLD.Abort(code)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(table) -> None:
    """A :class:`haiend.tables.Table` (or its rows) as aligned text on stdout; nothing for an empty one."""
    from haiend.tables import Table

    text = str(table if isinstance(table, Table) else Table(table))
    if text:
        print(text)


def cmd_machine(args) -> int:
    from haiend import machine

    info = machine.describe()
    if args.json:
        print(json.dumps(info, indent=1, sort_keys=True))
        return 0
    width = max(len(k) for k, _ in machine.summary(info))
    for key, value in machine.summary(info):
        print(f"{key.rjust(width)}  {value}")
    return 0


def cmd_tune(args) -> int:
    from haiend import machine, tune

    info = tune.load_fingerprint(args.machine) if args.machine else machine.describe()
    result = tune.derive(info)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    source = f" (fingerprint {args.machine})" if args.machine else ""
    print(f"Tuning for {info.get('cpu_model')}: {result.cpu}{source}")
    print_table([{"parameter": name, "value": str(p.value)} for name, p in result.params.items()])
    print("\nRules, and the fingerprint values each used:")
    for name, p in result.params.items():
        inputs = ", ".join(f"{k}={v}" for k, v in p.inputs.items())
        print(f"  {name}: {p.rule}\n      from: {inputs or 'nothing'}")
    return 0


def cmd_roofline(args) -> int:
    from haiend import ceilings

    result = ceilings.get(
        remeasure=args.remeasure, quick=args.quick, directory=args.results_dir, progress=_progress
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, sort_keys=True))
        return 0
    print_ceilings(result)
    return 0


def print_ceilings(result) -> None:
    from haiend import tables

    print_table(tables.ceilings(result))


def cmd_list(args) -> int:
    from haiend import kernels
    from haiend.tables import Table

    rows = []
    for name in kernels.kernel_names():
        kernel = kernels.get(name)
        for variant in kernel.variants.values():
            available = variant.available()
            rows.append(
                {
                    "kernel": kernel.name,
                    "variant": variant.name,
                    "runs here": "yes" if available else "no",
                    "what": variant.summary if available else available.reason,
                }
            )
    print_table(Table(rows))
    return 0


def cmd_spec(args) -> int:
    from haiend import kernels

    specs = [kernel.spec for kernel in kernels.group(args.kernel)]  # an unknown name is one sentence, exit 2
    if args.json:
        data = [s.to_dict() for s in specs]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=1))
    else:
        print("\n".join(s.to_markdown() for s in specs), end="")
    return 0


def _positive(name: str, value: int | float | None) -> None:
    if value is not None and not value > 0:
        raise HaiendError(f"--{name} must be positive, not {value}.")


def cmd_bench(args) -> int:
    import os

    from haiend import bench, ceilings, kernels, machine, mpi, sizes, tables

    if os.environ.get(sizes.ENV):  # set explicitly: honour it (unset, the command uses full sizes)
        args.quick = args.quick or sizes.quick()
    _positive("threads", args.threads)
    _positive("repeat", args.repeat)
    _positive("max-duration", args.max_duration)
    if args.warmup < 0:
        raise HaiendError(f"--warmup must be zero or more, not {args.warmup}.")
    kernels.group(args.kernel)  # an unknown kernel is an error before anything is measured
    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else None
    info = machine.describe()
    under_mpi = mpi.launched_by_mpiexec()
    root = mpi.is_root() if under_mpi else True
    progress = _progress if root else None
    fetched = []

    def roof():
        if args.no_roof:
            return None
        if under_mpi:  # ranks must not measure the machine at once: use the cached ceilings only
            from haiend import records

            cached = records.load_ceilings(info["machine_id"], args.results_dir)
            fetched.append(ceilings.Ceilings.from_dict(cached) if cached else None)
        else:
            # The roof is always the full measurement (cached): quick sizes run from cache and
            # would draw a roof at cache bandwidth, which no DRAM-bound result can be judged by.
            fetched.append(ceilings.get(directory=args.results_dir, progress=progress))
        return fetched[-1]

    outcomes = bench.run(
        args.kernel,
        variants=variants,
        size=args.size,
        quick=args.quick,
        threads_=args.threads,
        repeat=args.repeat,
        warmup=args.warmup,
        max_duration=args.max_duration,
        ceilings=roof,
        save=not args.no_save,
        results_dir=args.results_dir,
        progress=progress,
        info=info,
        command=shlex.join(["haiend", *sys.argv[1:]]),
    )
    if not root:
        return 0
    if args.json:
        print(json.dumps([o.to_dict() for o in outcomes], indent=1, default=_json_default))
    else:
        print_table(tables.results(outcomes))
        if not args.no_roof and fetched and fetched[-1] is None:
            print(
                "No roof: no ceilings are cached for this machine; run 'haiend roofline' once without mpiexec."
            )
    return 1 if any(o.status == "wrong" for o in outcomes) else 0


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def cmd_report(args) -> int:
    from haiend import bench, kernels, records, tables

    kernel = None
    if args.kernel:
        kernels.group(args.kernel)
        kernel = args.kernel
    loaded = records.load(args.results_dir, kernel=kernel, machine_id=args.machine)
    for path, why in loaded.problems:
        print(f"haiend: warning: skipped {path}: {why}", file=sys.stderr)
    latest: dict[tuple, records.Record] = {}
    runs: dict[tuple, int] = {}
    for number, record in enumerate(loaded.records):
        key = (
            record.machine_id,
            record.kernel,
            record.variant,
            tuple(record.size),
            record.threads,
            record.ranks,
        )
        key = key + (number,) if args.all else key
        latest[key] = record
        runs[key] = runs.get(key, 0) + 1
    if args.json:
        print(
            json.dumps(
                [r.to_dict(derived=True) | {"runs": runs[k]} for k, r in latest.items()],
                indent=1,
                default=_json_default,
            )
        )
        return 0
    if not latest:
        print(f"No records under {records.results_dir(args.results_dir)}; run 'haiend bench KERNEL' first.")
        return 0
    outcomes = [
        bench.Outcome.from_record(r)
        for r in sorted(latest.values(), key=lambda r: (r.machine_id, r.kernel, r.variant, r.timestamp))
    ]
    print_table(tables.results(outcomes, machine=True))
    repeated = sum(1 for n in runs.values() if n > 1)
    if repeated and not args.all:
        print(
            f"{repeated} of these were run more than once: the newest run of each is shown; --all shows every run."
        )
    return 0


def cmd_results(args) -> int:
    from haiend.records import exchange

    if args.action == "validate":
        bad = 0
        for path in args.paths:
            bundle = exchange.validate(path)
            for where, why in bundle.problems:
                print(f"{where}: {why}", file=sys.stderr)
            bad += len(bundle.problems)
            print(f"{path}: {len(bundle.entries)} file(s) valid, {len(bundle.problems)} not")
        return USAGE_EXIT if bad else 0
    if args.action == "export":
        out, bundle = exchange.export(
            args.out, directory=args.results_dir, anonymise=args.anonymise, site=args.site
        )
        for where, why in bundle.problems:
            print(f"haiend: warning: left out {where}: {why}", file=sys.stderr)
        how = "anonymised, " if args.anonymise else ""
        print(f"wrote {out}: {len(bundle.entries)} file(s), {how}at the current schema versions")
        return 0
    if args.action == "import":
        done = exchange.import_(args.source, args.catalogue, site=args.site)
        print(done.summary())
        return 0
    from haiend import compare

    return compare.command(args, print_table)


def cmd_export(args) -> int:
    from haiend.export import moodle

    if (args.hub is None) != (args.repo is None):
        raise HaiendError("--hub and --repo go together: the hub pulls the repository to open a lab.")
    hub = moodle.Hub(args.hub, args.repo, args.branch) if args.hub else None
    done = moodle.export(
        args.out,
        source_dir=args.source,
        html_dir=args.book,
        base_url=args.base_url,
        hub=hub,
        content_package_out=args.content_package,
    )
    built = done.built
    print(
        f"wrote {done.cartridge}: an IMS Common Cartridge 1.1 with {built.sections} sections, "
        f"{built.pages} pages ({built.labs} labs with their notebooks) and {built.weblinks} web links"
    )
    if done.content_package is not None:
        print(f"wrote {done.content_package}: an IMS content package of {done.content_files} files")
    return 0


def cmd_slurm(args) -> int:
    from haiend import slurm

    script = slurm.render(args.profile, args.kernel, array=args.array, sweep=args.sweep, size=args.size)
    if args.apptainer_def is not None:  # checked before anything is written
        definition = slurm.apptainer_definition(args.profile, args.apptainer_def.rsplit("/", 1)[-1])
        path = slurm.write_atomic(args.apptainer_def, definition, force=args.force)
        print(
            f"wrote the Apptainer definition {path}; build it with: apptainer build haiend.sif {path}",
            file=sys.stderr,
        )
    if args.output is None:
        sys.stdout.write(script)
        return 0
    path = slurm.write_atomic(args.output, script, force=args.force)
    kind = "job array" if args.array is not None else "batch script"
    print(f"wrote the {kind} {path}; submit it with: sbatch {path}", file=sys.stderr)
    return 0


def cmd_container(args) -> int:
    from haiend.container import enter, image

    if args.action == "check":
        why = image.build_unavailable() or enter.unavailable()
        print(why or "an image can be built and entered here.")
        return 1 if why else 0
    if args.action == "build":
        built = image.build(log=lambda text: print(text, file=sys.stderr))
        print(built.path)
        return 0
    from haiend.container import measure

    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    found = measure.inside_and_outside(
        args.folder, args.kernel, variants, size=args.size, threads=args.threads, repeat=args.repeat
    )
    if args.json:
        print(json.dumps(found.to_dict(), indent=1))
        return 0
    for row in found.rows:
        print(row.comparison)
    print(f"Drift: {found.drift}.")
    return 0


def cmd_workshop(args) -> int:
    if args.action == "collect":
        from haiend.workshop import collect

        done = collect.collect(args.homes, args.out)
        for path, why in done.problems:
            print(f"haiend: warning: skipped {path}: {why}", file=sys.stderr)
        print(done.summary())
        return 0
    if args.action == "links":
        from haiend.workshop import labs

        found = labs.links(args.hub, args.repo, args.branch, args.book)
        width = max(len(lab) for lab, _ in found)
        for lab, link in found:
            print(f"{lab.ljust(width)}  {link}")
        return 0
    if args.action == "prepare":
        from haiend.workshop import prepare

        if (args.out is None) == (args.branch is None):
            raise HaiendError("give either a new folder OUT or --branch NAME, one of the two.")
        if args.branch:
            done = prepare.prepare_branch(args.branch, args.book, force=args.force)
        else:
            done = prepare.prepare_folder(args.out, args.book)
        print(done.summary())
        return 0
    from haiend.workshop import classroom

    shown, loaded = classroom.table(args.folder, args.kernel)
    for path, why in loaded.problems:
        print(f"haiend: warning: skipped {path}: {why}", file=sys.stderr)
    print_table(shown)
    return 0


def cmd_jobs(args) -> int:
    """Exit 0 when every element completed or still runs, 1 when one failed (named), 2 on bad input."""
    from haiend import jobs

    elements = jobs.show(args.job_id)
    print(jobs.summary(elements))
    return 1 if any(e.failed for e in elements) else 0


def cmd_sweep(args) -> int:
    from haiend import sweep

    _positive("rounds", args.rounds)
    result = sweep.run(
        args.profile,
        args.workdir,
        executor=args.executor,
        size=args.size,
        rounds=args.rounds,
        progress=_progress,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.summary())
    return 0


def cmd_io(args) -> int:
    from haiend import io
    from haiend.tables import Table

    for name in ("samples", "sample_bytes", "repeat"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise HaiendError(f"--{name.replace('_', '-')} must be at least 1, not {value}.")
    model = io.from_profile(args.profile)
    readings = io.measure(
        args.samples,
        args.sample_bytes,
        folder=args.folder,
        layout_names=args.layouts.split(",") if args.layouts else None,
        repeat=args.repeat,
        drop_caches=args.drop_caches,
        count_syscalls=not args.no_syscalls,
        save=not args.no_save,
        results_dir=args.results_dir,
        command=shlex.join(["haiend", *sys.argv[1:]]),
    )
    print_table(Table(io.rows(readings, model)))
    first = next((r for r in readings if r.measured), None)
    if first is not None:
        n, size = first.record.size
        print(f"{n} samples of {size} bytes; cold reads evicted by {first.record.details['eviction']}.")
        counts = io.counts_of(first.record)
        if not counts.counted:
            print(counts.reason)
    print(
        f"Predicted on the parallel file system: cold read + opens x {model.latency_s:g} s ({model.source})."
    )
    return 0
