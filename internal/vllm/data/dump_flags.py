#!/usr/bin/env python3
"""Dump the flags of `vllm serve` in the format of vllm-serve-args.json.

Run inside the vllm/vllm-openai image of the release (see README.md). Best effort: it reads the
argparse actions of the serve subcommand; types it cannot name are reported as "str".
"""
import argparse
import json
import sys


def serve_parser():
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # releases before the move to argparse_utils
        from vllm.utils import FlexibleArgumentParser
    from vllm.entrypoints.cli.serve import ServeSubcommand

    parser = FlexibleArgumentParser(prog="vllm")
    subparsers = parser.add_subparsers()
    return ServeSubcommand().subparser_init(subparsers)


def type_name(action):
    if isinstance(action, (argparse.BooleanOptionalAction, argparse._StoreTrueAction,
                           argparse._StoreFalseAction, argparse._StoreConstAction)):
        return "bool"
    t = action.type
    name = getattr(t, "__name__", "") or getattr(getattr(t, "func", None), "__name__", "")
    if t is int or "int" in name:
        base = "int"
    elif t is float or "float" in name:
        base = "float"
    elif name in ("loads", "json_loads") or "json" in name or "dict" in name:
        base = "json"
    else:
        base = "str"
    if action.nargs in ("+", "*") and base in ("int", "str"):
        return "list[%s]" % base
    return base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--release", required=True)
    args = ap.parse_args()
    import vllm

    serve = serve_parser()
    flags = []
    for action in serve._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        longs = [o for o in action.option_strings if o.startswith("--") and not o.startswith("--no-")]
        shorts = [o for o in action.option_strings if not o.startswith("--")]
        negs = [o for o in action.option_strings if o.startswith("--no-")]
        if not action.option_strings:
            flags.append({"name": action.dest, "aliases": [], "group": "serve", "type": "str",
                          "takes_value": True, "default": None, "nargs": action.nargs, "positional": True})
            continue
        t = type_name(action)
        f = {
            "name": longs[0] if longs else action.option_strings[0],
            "aliases": shorts + longs[1:],
            "group": getattr(getattr(action, "container", None), "title", None) or "serve",
            "type": t,
            "takes_value": t != "bool",
            "default": action.default if isinstance(action.default, (str, int, float, bool, list, dict, type(None))) else None,
        }
        if action.nargs == "?" and t != "bool":
            f["takes_value"] = "optional"
        if action.nargs in ("+", "*"):
            f["nargs"] = "+"
        if action.choices:
            f["choices"] = list(action.choices)
        if negs:
            f["negation"] = negs[0]
        if isinstance(action, argparse._AppendAction):
            f["repeatable"] = True
        if action.help and "human" in action.help.lower() and t == "int":
            f["note"] = "human-readable int (e.g. 1k, 2M, 1G)"
        flags.append(f)
    commit = getattr(vllm, "__commit__", None) or getattr(getattr(vllm, "version", None), "__commit__", None)
    json.dump({
        "_about": "Flags of `vllm serve`, dumped from the argparse parser of the release image (dump_flags.py).",
        "source": {"repo": "vllm-project/vllm", "commit": commit, "release": args.release,
                   "version": vllm.__version__, "method": "argparse actions of ServeSubcommand.subparser_init"},
        "flags": flags,
    }, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
