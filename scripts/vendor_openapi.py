#!/usr/bin/env python3
"""Keep the subset of a vendor's published OpenAPI description that lifeboat's adapters are
tested against: the named paths and methods, every ``$ref`` (across files) inlined, code samples
and prose examples dropped, so that one file under ``tests/vendor/`` is the contract the fakes
validate each request and response against.

    python scripts/vendor_openapi.py ROOT_SPEC OUT --source NAME@COMMIT \\
        --path '/v2/domains/{domain_name}/records:get,post' ...

ROOT_SPEC is the vendor's root document (e.g. DigitalOcean's
specification/DigitalOcean-public.v2.yaml from github.com/digitalocean/openapi); its relative
``$ref``s are resolved from its directory.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

# A `discriminator`'s mapping names schemas by reference *strings* into the vendor's other files,
# which cannot resolve once bundled into one; the `anyOf`/`oneOf` it annotates still checks each
# alternative, so it goes (a validator that tried to follow it rejected every POST).
DROP = {"x-codeSamples", "example", "examples", "discriminator"}


class Bundler:
    def __init__(self) -> None:
        self.docs: dict[Path, Any] = {}

    def load(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self.docs:
            self.docs[path] = yaml.safe_load(path.read_text())
        return self.docs[path]

    def pointer(self, doc: Any, fragment: str) -> Any:
        for part in [p for p in fragment.lstrip("/").split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        return doc

    def inline(self, node: Any, base: Path, root: Path, seen: tuple[str, ...] = (),
               names: bool = False) -> Any:
        """`node` with its `$ref`s inlined; `names`: node's keys are names (a schema's
        `properties`), never dropped."""
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                ref = node["$ref"]
                file, _, fragment = ref.partition("#")
                target_file = (base.parent / file).resolve() if file else base
                key = f"{target_file}#{fragment}"
                if key in seen:
                    raise SystemExit(f"a $ref cycle through {key}: not bundled")
                target = self.pointer(self.load(target_file), fragment)
                out = self.inline(target, target_file, root, seen + (key,))
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**out, **self.inline(rest, base, root, seen)} if rest else out
            return {k: self.inline(v, base, root, seen, names=k == "properties" and not names)
                    for k, v in node.items() if names or k not in DROP}
        if isinstance(node, list):
            return [self.inline(v, base, root, seen) for v in node]
        return node


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--source", required=True, help="where the description came from (repo@commit)")
    p.add_argument("--path", action="append", required=True,
                   help="PATH:method,method (the operations kept)")
    args = p.parse_args(argv)
    b = Bundler()
    root = b.load(args.root)
    paths: dict[str, Any] = {}
    for spec in args.path:
        path, _, methods = spec.rpartition(":")
        item = root["paths"][path]
        item = b.inline(item, args.root.resolve(), args.root.resolve())
        paths[path] = {m: item[m] for m in methods.split(",")}
        if "parameters" in item:
            paths[path]["parameters"] = item["parameters"]
    out = {
        "openapi": root["openapi"],
        "info": {**root["info"], "description": f"The subset of {args.source} that lifeboat's "
                 "adapter is tested against (scripts/vendor_openapi.py); the vendor's license "
                 "applies."},
        "servers": root.get("servers", []),
        "paths": paths,
        "components": {"securitySchemes": b.inline(root["components"]["securitySchemes"],
                                                     args.root.resolve(), args.root.resolve())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# {args.source}: subset kept by scripts/vendor_openapi.py\n"
                        + yaml.safe_dump(out, sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
