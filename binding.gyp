{
  # The native products, all built by `npm run build:native` (node-gyp; see docs/DECISIONS.md):
  #   grpo_xla.node            the N-API addon, a generic PJRT client (native/addon, native/pjrt)
  #   grpo_xla_cpu_plugin.so   our CPU PJRT plugin (native/cpu/*.cc + every native/cpu/engine/*.cc)
  #   sgemm_bench              raw OpenBLAS sgemm for `npm run bench -- ops` (not part of any API)
  #   cpu_plugin_slot_check    test tool: every PJRT_Api slot of our plugin answers, none crashes
  #   cpu_plugin_abi_test      test tool: our plugin at the C ABI (strides, layouts, events, deletion)
  'variables': {
    # Fails the build with a clear message when libopenblas-dev is missing (the engine dlopens it later).
    'openblas_libdir': '<!(sh native/cpu/check_openblas.sh)',
  },
  'target_defaults': {
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17', '-std=gnu++20'],
    'cflags': ['-O3', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    'cflags_cc': ['-std=c++20', '-fexceptions', '-frtti'],
  },
  'targets': [
    {
      'target_name': 'grpo_xla',
      'sources': [
        'native/addon/addon.cc',
        'native/addon/addon_buffers.cc',
        'native/addon/dispatch_queue.cc',
        'native/addon/napi_util.cc',
        'native/addon/pjrt_client.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS'],
      'libraries': ['-ldl'],
    },
    {
      'target_name': 'grpo_xla_cpu_plugin',
      'type': 'shared_library',
      'product_prefix': '',
      'product_extension': 'so',
      'sources': [
        'native/cpu/plugin.cc',
        'native/cpu/plugin_buffers.cc',
        'native/cpu/plugin_executables.cc',
        'native/cpu/compile_options.cc',
      ],
      'dependencies': ['grpo_cpu_engine'],
      # Only GetPjrtApi is exported; the engine's symbols stay inside the plugin.
      'cflags': ['-fvisibility=hidden', '-fPIC'],
      'ldflags': ['-Wl,--no-undefined'],
      'libraries': ['-ldl', '-lpthread'],
    },
    {
      # The engine (parser, type checker, planner, kernels) as a static library: linked into the plugin and
      # into its C++ test binary, so the sources compile once.
      'target_name': 'grpo_cpu_engine',
      'type': 'static_library',
      'sources': ['<!@(ls native/cpu/engine/*.cc)'],
      'cflags': ['-fvisibility=hidden', '-fPIC'],
    },
    {
      # Test tool: the engine's own C++ tests (native/cpu/tests), run by tests/runtime/engine.test.ts.
      'target_name': 'cpu_engine_test',
      'type': 'executable',
      'sources': ['<!@(ls native/cpu/tests/engine_*test.cc)'],
      'include_dirs': ['native/cpu/engine'],
      'dependencies': ['grpo_cpu_engine'],
      'libraries': ['-ldl', '-lpthread'],
    },
    {
      # Test tool: calls every slot of our plugin with bare args; each must answer an error, never crash.
      'target_name': 'cpu_plugin_slot_check',
      'type': 'executable',
      'sources': ['native/cpu/slot_check.cc'],
      'libraries': ['-ldl'],
    },
    {
      # Test tool: our plugin at the C ABI (strides, layouts, events, deletion), beyond what the addon uses.
      'target_name': 'cpu_plugin_abi_test',
      'type': 'executable',
      'sources': ['native/cpu/plugin_abi_test.cc'],
      'libraries': ['-ldl'],
    },
    {
      'target_name': 'sgemm_bench',
      'type': 'executable',
      'sources': ['bench/native/sgemm_bench.cc'],
      'libraries': ['-ldl'],
    },
  ],
}
