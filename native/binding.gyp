{
  "targets": [
    {
      "target_name": "wharf_native",
      "sources": ["wharf_native.c", "wharf_v8.cc"],
      "cflags": ["-Wall", "-O2"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "wharf-nsexec",
      "type": "executable",
      "sources": ["nsexec.c"],
      "cflags": ["-Wall", "-O2"],
      "libraries": ["-lseccomp"]
    }
  ]
}
