"""Reading PDF and PPTX files into figure units (installed as ``figvault.ingest``)."""

import sys

# PyMuPDF 2.0 loads its ONNX layout model (``pymupdf.layout``) inside ``import pymupdf`` whenever that package
# is installed: 1.1 s and 47 MB in every process, extraction workers included, for a model figvault uses
# only when extract.use_layout_model is on (pdf.layout_model_pictures then loads it). A None entry in
# sys.modules makes that optional import fail fast; it is set only while PyMuPDF is not yet imported.
if "pymupdf" not in sys.modules:
    sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[arg-type]
