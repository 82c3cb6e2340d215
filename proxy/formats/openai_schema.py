"""Every field of OpenAI's Chat Completions, Completions and Embeddings requests, as schemas.

Text the provider reads is ``TEXT`` (anonymized): message contents and names, text parts,
tool-call arguments (``ARGUMENTS``: each string value of their JSON, ``json_string.py``),
``user``, ``stop`` sequences, ``metadata`` values, a predicted output, a search location.
Tool definitions and response schemas are written by the developer and the provider needs
them byte for byte: they carry no user text by contract (``OPAQUE``), as do image URLs and
base64 audio or files. Anything not listed here is refused with 400.
"""

from __future__ import annotations

from proxy.formats.json_string import ARGUMENTS
from proxy.formats.schema import (
    BASE64,
    BOOL,
    NUMBER,
    OPAQUE,
    TEXT,
    TOKEN,
    URL,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Opaque,
    Tagged,
    Text,
)

DESCRIPTION = Opaque(str)  # a tool's or a schema's description: the developer's, not text

_BREAKPOINT = {"prompt_cache_breakpoint": Obj({"mode": TOKEN, "ttl": TOKEN})}
_PART = Tagged({
    "text": Obj({"type": TOKEN, "text": TEXT, **_BREAKPOINT}),
    "refusal": Obj({"type": TOKEN, "refusal": TEXT}),
    "image_url": Obj({"type": TOKEN, "image_url": Obj({"url": URL, "detail": TOKEN}),
                      **_BREAKPOINT}),
    "input_audio": Obj({"type": TOKEN, "input_audio": Obj({"data": BASE64, "format": TOKEN}),
                        **_BREAKPOINT}),
    "file": Obj({"type": TOKEN, "file": Obj({"file_data": BASE64, "file_id": TOKEN,
                                             "filename": TEXT}), **_BREAKPOINT}),
}, code="invalid_content")

CONTENT = OneOf(Text("invalid_content"), ListOf(_PART), code="invalid_content")

_TOOL_CALL = Tagged({
    "function": Obj({"id": TOKEN, "type": TOKEN, "index": NUMBER,
                     "function": Obj({"name": TOKEN, "arguments": ARGUMENTS})}),
    "custom": Obj({"id": TOKEN, "type": TOKEN, "index": NUMBER,
                   "custom": Obj({"name": TOKEN, "input": TEXT})}),
}, default="function", code="invalid_tool_calls")

MESSAGE = Obj({
    "role": TOKEN,
    "content": CONTENT,
    "name": TEXT,
    "refusal": TEXT,
    "reasoning_content": TEXT,  # DeepSeek and others echo their reasoning back
    "reasoning": TEXT,
    "tool_calls": ListOf(_TOOL_CALL, code="invalid_tool_calls"),
    "tool_call_id": TOKEN,
    "function_call": Obj({"name": TOKEN, "arguments": ARGUMENTS}, code="invalid_tool_calls"),
    "audio": Obj({"id": TOKEN}),
}, code="invalid_messages")

_FUNCTION = Obj({"name": TOKEN, "description": DESCRIPTION, "parameters": OPAQUE, "strict": BOOL})

_TOOL = Tagged({
    "function": Obj({"type": TOKEN, "function": _FUNCTION}),
    "custom": Obj({"type": TOKEN, "custom": Obj({"name": TOKEN, "description": DESCRIPTION,
                                                 "format": OPAQUE})}),
})

_TOOL_CHOICE = OneOf(TOKEN, Tagged({
    "function": Obj({"type": TOKEN, "function": Obj({"name": TOKEN})}),
    "custom": Obj({"type": TOKEN, "custom": Obj({"name": TOKEN})}),
    "allowed_tools": Obj({"type": TOKEN, "allowed_tools": Obj({"mode": TOKEN,
                                                               "tools": OPAQUE})}),
}))

_RESPONSE_FORMAT = Tagged({
    "text": Obj({"type": TOKEN}),
    "json_object": Obj({"type": TOKEN}),
    "json_schema": Obj({"type": TOKEN, "json_schema": Obj({
        "name": TOKEN, "description": DESCRIPTION, "schema": OPAQUE, "strict": BOOL})}),
})

_STOP = OneOf(TEXT, ListOf(TEXT))
_STREAM_OPTIONS = Obj({"include_usage": BOOL, "include_obfuscation": BOOL})

# Sampling knobs of OpenAI and of the OpenAI-compatible servers (vLLM, Ollama, OpenRouter).
_SAMPLING = {name: NUMBER for name in (
    "temperature", "top_p", "frequency_penalty", "presence_penalty", "seed", "n",
    "max_tokens", "max_completion_tokens", "top_logprobs", "top_k", "min_p",
    "repetition_penalty")}

CHAT = Obj({
    "model": TOKEN,
    "messages": ListOf(MESSAGE, code="invalid_messages"),
    **_SAMPLING,
    "stream": BOOL,
    "stream_options": _STREAM_OPTIONS,
    "stop": _STOP,
    "logprobs": BOOL,
    "logit_bias": MapOf(NUMBER),
    "user": TEXT,
    "metadata": MapOf(TEXT),
    "store": BOOL,
    "tools": ListOf(_TOOL),
    "tool_choice": _TOOL_CHOICE,
    "parallel_tool_calls": BOOL,
    "functions": ListOf(_FUNCTION),
    "function_call": OneOf(TOKEN, Obj({"name": TOKEN})),
    "response_format": _RESPONSE_FORMAT,
    "modalities": ListOf(TOKEN),
    "audio": Obj({"voice": OneOf(TOKEN, Obj({"id": TOKEN})), "format": TOKEN}),
    "prediction": Obj({"type": TOKEN, "content": CONTENT}),
    "reasoning_effort": TOKEN,
    "verbosity": TOKEN,
    "service_tier": TOKEN,
    "prompt_cache_key": TOKEN,
    "prompt_cache_retention": TOKEN,
    "prompt_cache_options": Obj({"mode": TOKEN, "ttl": TOKEN}),
    "moderation": Obj({"model": TOKEN, "policy": Obj({"input": Obj({"mode": TOKEN}),
                                                      "output": Obj({"mode": TOKEN})})}),
    "safety_identifier": TOKEN,
    "web_search_options": Obj({
        "search_context_size": TOKEN,
        "user_location": Obj({"type": TOKEN, "approximate": Obj({
            "city": TEXT, "country": TEXT, "region": TEXT, "timezone": TOKEN})})}),
})

# A prompt or an input: a string, token ids, or a list of either.
_TEXTS_OR_TOKENS = OneOf(TEXT, ListOf(OneOf(TEXT, NUMBER, ListOf(NUMBER))))

COMPLETIONS = Obj({
    "model": TOKEN,
    "prompt": _TEXTS_OR_TOKENS,
    "suffix": TEXT,
    **_SAMPLING,
    "best_of": NUMBER,
    "echo": BOOL,
    "logprobs": NUMBER,
    "logit_bias": MapOf(NUMBER),
    "stream": BOOL,
    "stream_options": _STREAM_OPTIONS,
    "stop": _STOP,
    "user": TEXT,
})

EMBEDDINGS = Obj({
    "model": TOKEN,
    "input": _TEXTS_OR_TOKENS,
    "encoding_format": TOKEN,
    "dimensions": NUMBER,
    "user": TEXT,
})
