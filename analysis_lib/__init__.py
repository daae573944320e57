"""analysis_lib: the shared library of the e-commerce operations workbook.

One module per concern: ``data`` (connect, canonical schema, validation), ``metrics`` (one
definition per metric), ``params`` (schemas), one module per analysis (``kpi``, ...), ``viz``
(chart theme and standard charts), ``report`` (summary blocks, formatting, headline figures),
``runner`` + ``cli`` (papermill, nbconvert, index) and ``sample_data`` (the generator).
"""

__version__ = "0.1.0"
