"""Container logs: conmon's k8s-file format read as ``docker logs`` shows it.

* :mod:`.k8sfile` -- records, timestamps, joining partial (P) chunks
* :mod:`.reader` -- history over rotated files: lines, stdcopy frames, tail
* :mod:`.follow` -- ``logs -f`` across conmon's rename-over rotation
* :mod:`.rotation` -- json-file log options, keeping max-file generations
"""
