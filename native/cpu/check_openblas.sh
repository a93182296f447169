#!/bin/sh
# Build-time check run by binding.gyp: the CPU plugin's engine dlopens OpenBLAS at run time (after choosing
# OPENBLAS_CORETYPE), so nothing links it, but the build must still fail clearly when it is missing.
for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
  if [ -e "$dir/libopenblas.so.0" ] || [ -e "$dir/libopenblas.so" ]; then
    if [ -e /usr/include/cblas.h ] || [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/openblas/cblas.h ] \
      || [ -e /usr/include/aarch64-linux-gnu/cblas.h ] || [ -e /usr/local/include/cblas.h ]; then
      echo "$dir"
      exit 0
    fi
  fi
done
echo "error: OpenBLAS not found. The grpo-xla CPU plugin needs it: apt-get install libopenblas-dev" >&2
exit 1
