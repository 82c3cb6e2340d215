"""anonymize-proxy's anonymization library: detectors -> spans -> placeholders -> text.

It knows nothing of HTTP, Redis or OpenAI, so a notebook or a batch job can use it alone.
"""

from pipeline.errors import ConfigError, PipelineError
from pipeline.pipeline import AnonymizeManyResult, AnonymizeResult, Pipeline
from pipeline.restore import StreamingDeanonymizer, deanonymize
from pipeline.spans import Span

__all__ = [
    "AnonymizeManyResult",
    "AnonymizeResult",
    "ConfigError",
    "Pipeline",
    "PipelineError",
    "Span",
    "StreamingDeanonymizer",
    "deanonymize",
]
