# Types of the compiled kernels (src/dedupe/_kernels.c); see dedupe.similarity.bulk.
from typing import Any

def features(
    units: Any, unit_offsets: Any, k: int, content: Any, content_offsets: Any, common: Any, a: Any, b: Any,
    out_shingles: Any, out_content: Any, counts: Any, shingle_sigs: Any, content_sigs: Any, /,
) -> None: ...
