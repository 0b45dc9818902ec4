#!/usr/bin/env python3
"""The docker verbs' output, byte for byte, against golden files.

Usage: docker_golden_test.py PATH/TO/refstore [--update]

Every case runs one command (after optional setup commands) on a copy of
the store built from golden/store.jsonl, with --at 2026-01-10T12:00:00Z,
and compares stdout with golden/<case>.txt, and stderr and the exit status
with the values below. The golden files follow docker/cli's formats (table
columns padded to max(widest cell + 3, 10), SIZE with 3 significant
digits, other sizes with 4, "<none>", 12-character IDs, "N hours ago",
"Untagged:"/"Deleted:", "Deleted Images:" ... "Total reclaimed space:"),
and cover the formatting edge cases in command output: 999,500 bytes
("1e+03kB" in image ls, "999.5kB" in prune's total and df -v), 0B, "1 second
ago" and "47 hours ago". --update rewrites the golden files from the
current output (review every change against docker's sources).
"""
import os
import sys

from clitest import GOLDEN_DIR, GOLDEN_NOW, Checker, Refstore, digest

A64 = "a" * 64
B64 = "b" * 64
ALPINE = digest("m-alpine")
EDGE = digest("m-edge")
OLD1 = digest("m-old-1")

ALL_WARNING = ("WARNING! This will remove all images without at least one container associated "
               "to them.\nAre you sure you want to continue? [y/N] ")
DANGLING_WARNING = ("WARNING! This will remove all dangling images.\n"
                    "Are you sure you want to continue? [y/N] ")


def case(name, args, rc=0, err="", stdin=None, fresh=False, setup=()):
    return dict(name=name, args=args, rc=rc, err=err, stdin=stdin, fresh=fresh, setup=setup)


CASES = [
    # image ls / images: docker's default table, flags and filters.
    case("images", ["images"]),
    case("image_ls", ["image", "ls"]),
    case("image_list_alias", ["image", "list"]),
    case("image_ls_digests", ["image", "ls", "--digests"]),
    case("image_ls_quiet", ["image", "ls", "-q"]),
    case("image_ls_no_trunc", ["image", "ls", "--no-trunc"]),
    case("image_ls_json", ["image", "ls", "--format", "json"]),
    case("image_ls_json_quiet", ["image", "ls", "-q", "--format", "json"]),
    case("image_ls_dangling", ["image", "ls", "-f", "dangling=true"]),
    case("image_ls_not_dangling", ["image", "ls", "--filter", "dangling=false"]),
    case("image_ls_label", ["image", "ls", "--filter", "label=env=prod"]),
    case("image_ls_label_not", ["image", "ls", "--filter", "label!=env"]),
    case("image_ls_until", ["image", "ls", "--filter", "until=24h"]),
    case("image_ls_before", ["image", "ls", "--filter", "before=myapp:1.0"]),
    case("image_ls_since", ["image", "ls", "--filter", "since=old:1"]),
    case("image_ls_reference", ["image", "ls", "--filter", "reference=old*"]),
    case("images_repository_arg", ["images", "myapp"]),
    case("images_repository_tag_arg", ["images", "myapp:latest"]),
    case("image_ls_last_used", ["image", "ls", "--last-used"]),
    case("image_ls_bad_filter", ["image", "ls", "--filter", "bogus=1"], rc=1,
         err="Error response from daemon: invalid filter 'bogus'\n"),
    case("image_ls_bad_dangling", ["image", "ls", "--filter", "dangling=maybe"], rc=1,
         err="Error response from daemon: invalid filter 'dangling=[maybe]'\n"),
    # image inspect.
    case("image_inspect", ["image", "inspect", "myapp:1.0"]),
    case("image_inspect_json", ["image", "inspect", "--format", "json", "alpine:3.18"]),
    case("image_inspect_missing", ["image", "inspect", "nope"], rc=1,
         err="Error response from daemon: No such image: nope:latest\n"),
    # image rm / rmi.
    case("rmi_one_tag", ["rmi", "myapp:latest"], fresh=True),
    case("image_rm_last_name", ["image", "rm", "edge:999k"], fresh=True),
    case("image_rm_two", ["image", "rm", "edge:999k", "old:1"], fresh=True),
    case("rmi_by_id_dangling", ["rmi", OLD1[7:19]], fresh=True),
    case("rmi_conflict", ["rmi", "alpine:3.18"], rc=1, fresh=True,
         err=("Error response from daemon: conflict: unable to delete alpine:3.18 (must be "
              "forced) - container aaaaaaaaaaaa is using its referenced image "
              + ALPINE[7:19] + "\n")),
    case("rmi_running_conflict", ["rmi", "-f", ALPINE[7:19]], rc=1, fresh=True,
         err=("Error response from daemon: conflict: unable to delete " + ALPINE[7:19] +
              " (cannot be forced) - image is being used by running container aaaaaaaaaaaa\n")),
    case("rmi_missing", ["rmi", "nope"], rc=1,
         err="Error response from daemon: No such image: nope:latest\n"),
    case("rmi_force_missing", ["rmi", "-f", "nope"], rc=0,
         err="Error response from daemon: No such image: nope:latest\n"),
    case("rmi_partly_missing", ["image", "remove", "nope", "edge:999k"], rc=1, fresh=True,
         err="Error response from daemon: No such image: nope:latest\n"),
    # image tag.
    case("tag_then_ls", ["images", "--filter", "reference=alpine:*"], fresh=True,
         setup=[["tag", "alpine:3.18", "alpine:latest"], ["image", "tag", "edge:999k", "alpine:edge"]]),
    case("tag_missing", ["image", "tag", "nope", "x"], rc=1,
         err="Error response from daemon: No such image: nope:latest\n"),
    case("tag_digest_target", ["tag", "alpine:3.18", "alpine@" + ALPINE], rc=1,
         err="Error response from daemon: refusing to create a tag with a digest reference\n"),
    # image prune: prompts, dangling, -a, filters, edge sizes.
    case("prune_dangling", ["image", "prune", "-f"], fresh=True),
    case("prune_all", ["image", "prune", "-a", "--force"], fresh=True),
    case("prune_label_999k", ["image", "prune", "-a", "-f", "--filter", "label=size=edge"],
         fresh=True),
    case("prune_nothing_0B", ["image", "prune", "-a", "-f", "--filter", "label=nothing"],
         fresh=True),
    case("prune_until", ["image", "prune", "-a", "-f", "--filter", "until=72h"], fresh=True),
    case("prune_prompt_no_input", ["image", "prune"], stdin="", fresh=True,
         err="image prune has been cancelled\n"),
    case("prune_all_prompt_no", ["image", "prune", "-a"], stdin="n\n", fresh=True,
         err="image prune has been cancelled\n"),
    case("prune_all_prompt_yes", ["image", "prune", "-a"], stdin="y\n", fresh=True),
    case("prune_prompt_Y", ["image", "prune"], stdin=" Y \n", fresh=True),
    case("prune_bad_filter", ["image", "prune", "-f", "--filter", "bogus=1"], rc=1, fresh=True,
         err="Error response from daemon: invalid filter 'bogus'\n"),
    case("prune_bad_until", ["image", "prune", "-f", "--filter", "until=soon"], rc=1,
         fresh=True,
         err=("Error response from daemon: invalid value for 'until' filter: failed to parse "
              "value as time or duration: \"soon\"\n")),
    case("prune_after_prune", ["image", "prune", "-f"], fresh=True,
         setup=[["image", "prune", "-f"]]),
    # system df.
    case("system_df", ["system", "df"]),
    case("system_df_verbose", ["system", "df", "-v"]),
    case("system_df_json", ["system", "df", "--format", "json"]),
    case("system_df_after_prune", ["system", "df"], fresh=True,
         setup=[["image", "prune", "-a", "-f"]]),
    # containers.
    case("ps", ["ps"]),
    case("container_ls_all", ["container", "ls", "-a"]),
    case("container_ls_quiet", ["container", "ls", "-aq"]),
    case("container_ls_json", ["container", "ls", "-a", "--format", "json"]),
    case("container_create", ["container", "create", "--id", "c" * 64, "edge:999k"], fresh=True),
    case("container_start_stop_ls", ["container", "ls", "--all"], fresh=True,
         setup=[["container", "start", B64], ["container", "stop", A64]]),
    case("container_rm_running", ["container", "rm", A64], rc=1, fresh=True,
         err=("Error response from daemon: conflict: You cannot remove a running container "
              + A64 + ". Stop the container before attempting removal or force remove\n")),
    case("container_rm_force", ["container", "rm", "-f", A64], fresh=True),
    case("container_missing", ["container", "start", "d" * 64, B64], rc=1, fresh=True,
         err=("Error response from daemon: No such container: " + "d" * 64 + "\n"
              "Error: failed to start containers: " + "d" * 64 + "\n")),
    case("container_stop_missing", ["container", "stop", "d" * 64], rc=1,
         err="Error response from daemon: No such container: " + "d" * 64 + "\n"),
    case("container_rm_force_missing", ["container", "rm", "-f", "d" * 64], rc=0,
         err="Error response from daemon: No such container: " + "d" * 64 + "\n"),
    case("container_ls_quiet_format", ["ps", "-q", "--format", "json"],
         err="WARNING: Ignoring custom format, because both --format and --quiet are set.\n"),
    # leases.
    case("lease_ls", ["lease", "ls"]),
    case("lease_ls_json", ["lease", "ls", "--format", "json"]),
    case("lease_create_add_ls", ["lease", "ls"], fresh=True,
         setup=[["lease", "create", "pull-2", "--expires-in", "2h"],
                ["lease", "add", "pull-2", digest("l-new") + ":1234",
                 digest("l-new-2") + ":1000:application/vnd.oci.image.layer.v1.tar"]]),
    case("lease_rm", ["lease", "rm", "pull-1"], fresh=True),
    # usage errors: docker's status 125.
    case("usage_unknown_flag", ["image", "ls", "--bogus"], rc=125, err=None),
    case("usage_bad_filter_format", ["image", "ls", "--filter", "dangling"], rc=125, err=None),
    case("usage_missing_arg", ["image", "tag", "alpine:3.18"], rc=125, err=None),
    case("usage_bad_max_storage", ["image", "prune", "-f", "--max-storage", "12XB"], rc=125,
         err=None),
]


def exit_statuses(rs, check, store):
    """Exit statuses outside the cases: apply keeps its documented ones."""
    rc, out, err = rs.run(store, "apply", "--bogus")
    check.equal(rc, 2, f"apply with a bad flag: exit 2 (OPLOG.md) ({err!r})")
    rc, out, err = rs.run(store, "apply", rs.path("no-such-file"))
    check.equal(rc, 2, f"apply of a missing file: exit 2 ({err!r})")
    rc, out, err = rs.run(store, "apply", stdin='{"op":"rmi","ref":"nope"}\n')
    check.equal(rc, 1, "apply with a failed operation: exit 1")
    blocker = rs.path("a-file")
    open(blocker, "w").close()
    rc, out, err = rs.run(blocker, "gc")
    check.equal(rc, 2, f"gc on a store that cannot be opened: exit 2 ({err!r})")
    rc, out, err = rs.run(blocker, "image", "ls")
    check.expect(rc == 1 and err.startswith("refstore: cannot open store "),
                 f"image ls on a store that cannot be opened: exit 1 ({rc}, {err!r})")
    rc, out, err = rs.run(store, "image", "ls", at="yesterday")
    check.equal(rc, 125, f"bad --at: exit 125 ({err!r})")
    rc, out, err = rs.run(store, "nonsense")
    check.equal(rc, 125, f"unknown command: exit 125 ({err!r})")
    rc, out, err = rs.run(store, "image", "ls", "--help")
    check.expect(rc == 0 and "--filter" in out, "image ls --help: exit 0")
    # --at applies to apply too: an operation without "at" is dated by it.
    rc, out, err = rs.run(store, "apply", at="2026-01-10T11:00:00Z", stdin=(
        '{"op":"tag","source":"alpine:3.18","target":"alpine:at-test"}\n'))
    check.equal(rc, 0, "apply --at")
    rc, out, err = rs.run(store, "rmi", "alpine:at-test")
    check.equal(rc, 0, "cleanup of apply --at")


def main():
    binary = sys.argv[1]
    update = "--update" in sys.argv[2:]
    only = [a for a in sys.argv[2:] if not a.startswith("--")]
    check = Checker("docker_golden_test")
    rs = Refstore(binary)
    try:
        shared = rs.golden_store("golden-shared")
        for c in CASES:
            if only and c["name"] not in only:
                continue
            store = rs.golden_store("case") if c["fresh"] else shared
            for s in c["setup"]:
                rc, out, err = rs.run(store, *s, at=GOLDEN_NOW)
                check.expect(rc == 0, f"{c['name']}: setup {s} exit {rc}: {err}")
            rc, out, err = rs.run(store, *c["args"], stdin=c["stdin"], at=GOLDEN_NOW)
            path = os.path.join(GOLDEN_DIR, c["name"] + ".txt")
            if update:
                with open(path, "w") as f:
                    f.write(out)
            elif not os.path.exists(path):
                check.expect(False, f"{c['name']}: no golden file {path}")
            else:
                with open(path) as f:
                    check.equal(out, f.read(), f"{c['name']}: stdout of {c['args']}")
            check.equal(rc, c["rc"], f"{c['name']}: exit status (stderr {err!r})")
            if c["err"] is None:
                check.expect(err.startswith("refstore: ") and "--help" in err,
                             f"{c['name']}: usage error text: {err!r}")
            else:
                check.equal(err, c["err"], f"{c['name']}: stderr")
        if not only:
            exit_statuses(rs, check, shared)
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
