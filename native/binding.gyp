{
  "targets": [
    {
      "target_name": "mxray_udp",
      "sources": ["udp_batch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["udp_batch.c"]}]]
    }
  ]
}
