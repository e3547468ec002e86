#!/usr/bin/env bash
# guile.sh CGC_RUN LIBDIR WORKDIR — Debian 12's Guile 3.0 (guile-3.0,
# guile-3.0-libs): a multi-threaded Scheme runtime whose libguile uses
# libgc's finalizers, disappearing links (weak tables, guardians), custom
# kinds with mark procedures (thread objects and their VM stacks), typed
# allocation and thread registration. The workload, guile-work.scm: four
# threads allocating at once (par-map: binary trees, strings, hash tables,
# bignums), guardians, weak-key and weak-value hash tables, a long-lived
# list. Checks: lib.sh (its output identical).
set -u
name=guile
cgc_run=$1 libdir=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
runs=3
bash "$here/fetch.sh" "$work/../pkgs" guile-3.0 guile-3.0-libs || exit $?
root=$(cd "$work/../pkgs/root" && pwd)
. "$here/lib.sh"
mkdir -p "$work" && rm -rf "${work:?}"/*
lib=$root/usr/lib/x86_64-linux-gnu
# The unpacked tree is not where Guile was built to look: its Scheme
# sources, compiled files and extensions are named through the
# environment, and nothing is compiled (--no-auto-compile).
env_common=(HOME="$work" LD_LIBRARY_PATH="$lib"
  GUILE_SYSTEM_PATH="$root/usr/share/guile/3.0"
  GUILE_SYSTEM_COMPILED_PATH="$lib/guile/3.0/ccache"
  GUILE_SYSTEM_EXTENSIONS_PATH="$lib/guile/3.0/extensions")
# libgc peaks at 21-24 MB of RSS on this workload.
limit=$((14 << 20))
compare "$root/usr/bin/guile-3.0" --no-auto-compile "$here/guile-work.scm"
finish
