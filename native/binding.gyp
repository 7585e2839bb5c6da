{
  "targets": [
    {
      "target_name": "wharf_native",
      "sources": ["wharf_native.c"],
      "cflags": ["-Wall", "-O2"],
      "libraries": ["-lpthread"]
    }
  ]
}
