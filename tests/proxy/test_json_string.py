"""JSON inside a string (tool-call arguments), without a network: finding its string values,
writing them back in place, and restoring answers with escaped originals."""

from __future__ import annotations

import json
import random
from typing import Any

from proxy.formats.base import TextSlot, write_texts
from proxy.formats.json_string import ARGUMENTS, JsonValueSlot, text_values
from proxy.formats.openai_chat import CHAT_FORMAT
from proxy.formats.openai_stream import StreamRestorer
from proxy.formats.responses import ResponsesFormat
from proxy.formats.responses_stream import ResponsesStream
from proxy.restoring import Restorer
from proxy.streaming import SSEEvent

ITEMS = {"PERSON0": 'Anna "Nan" Smith', "ADDRESS0": "12 Main St\nSpringfield",
         "PATH0": "C:\\Users\\anna", "PERSON10": "Zoë\t\x01"}


def label_of(placeholder: str) -> str:
    return placeholder.rstrip("0123456789")


def values_of(document: str) -> list[str] | None:
    found = text_values(document)
    return None if found is None else [value for _, _, value, _ in found]


def test_text_values_are_decoded_in_document_order() -> None:
    document = r'''{"a": "q\"uote\\ \/ \n", "b": [ "", {"c": "caf\u00e9 \ud83c\udf51"}, 1.50,
                   true, null, ["x", []]], "d":"Zoë"}'''
    assert values_of(document) == ['q"uote\\ / \n', "", "café 🍑", "x", "Zoë"]
    for start, end, value, _ in text_values(document) or []:
        assert json.loads(document[start:end]) == value


def test_documents_without_text_values_have_none() -> None:
    assert values_of('{"n": 1, "ok": [true, null, -2.5e3]}') == []
    assert values_of("  42 ") == []
    assert values_of('"just a string"') == ["just a string"]


def test_what_is_not_a_document_with_token_keys_is_none() -> None:
    for text in ("", "   ", "free text", '{"a": "b"', '{"a": "b"} x', '{"a": NaN}',
                 '{"a": "\\ud800"}', '{"a": "raw\nnewline"}', '{"to whom": "x"}',
                 '{"ok": {"caf\\u00e9": "x"}}', "{'a': 'b'}", '{"a": 1,}'):
        assert text_values(text) is None, text


def test_random_documents_give_every_text_value() -> None:
    rng = random.Random(7)
    alphabet = 'ab "\\/\n\t\x01é€🍑\u2028'

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))

    def value(depth: int) -> Any:
        kind = rng.randrange(6 if depth < 4 else 3)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([0, -1.5, True, None, 10**30, -1234567, 123456, 1.5e30])
        if kind == 2:
            return text()
        if kind == 3:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}": value(depth + 1) for i in range(rng.randrange(4))}

    def strings(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if type(node) is int and abs(node) >= 10**6:  # may be an identifier: a text too
            return [str(node)]
        children = node.values() if isinstance(node, dict) else node
        return [s for c in children for s in strings(c)] if isinstance(node, dict | list) else []

    for _ in range(300):
        document = value(0)
        encoded = json.dumps(document, ensure_ascii=rng.random() < 0.5,
                             indent=rng.choice([None, 2]))
        assert values_of(encoded) == strings(document), encoded


def test_slots_write_back_in_place_in_any_order() -> None:
    arguments = '{ "a":"one",\n"b" : ["t\\u00e9o", "three"],  "n": 1.50, "c": "four" }'
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        holder = {"arguments": arguments}
        slots = ARGUMENTS.slots(holder, "arguments")
        assert [s.get() for s in slots] == ["one", "téo", "three", "four"]
        new = ["1", 'é "2"', "three", "4\n"]
        for i in order:
            slots[i].set(new[i])
        assert holder["arguments"] == (
            '{ "a":"1",\n"b" : ["\\u00e9 \\"2\\"", "three"],  "n": 1.50, "c": "4\\n" }')
        assert json.loads(holder["arguments"])["b"] == ['é "2"', "three"]
        assert [s.get() for s in slots] == new


def test_write_texts_fills_several_documents_in_any_order() -> None:
    """The relay's path: each shared parent is rebuilt once, after all its values are in."""
    body = {"a": '{"x": "1", "y": ["2"]}', "b": '"3"', "c": "plain"}
    slots = [*ARGUMENTS.slots(body, "a"), *ARGUMENTS.slots(body, "b"), TextSlot(body, "c")]
    texts = ["one", "two", "three", "PLAIN"]
    order = [3, 1, 2, 0]
    write_texts([slots[i] for i in order], [texts[i] for i in order])
    assert body == {"a": '{"x": "one", "y": ["two"]}', "b": '"three"', "c": "PLAIN"}


def test_a_value_set_back_to_its_original_gets_its_own_bytes_again() -> None:
    holder = ["{\"a\": \"caf\\u00e9\", \"b\": \"Zoë\"}"]
    slots = ARGUMENTS.slots(holder, 0)
    assert all(isinstance(s, JsonValueSlot) for s in slots)
    slots[0].set("PERSON0 é")
    slots[1].set("PERSON1 é")
    assert holder[0] == '{"a": "PERSON0 \\u00e9", "b": "PERSON1 é"}'  # each literal's style
    slots[0].set("café")
    slots[1].set("Zoë")
    assert holder[0] == "{\"a\": \"caf\\u00e9\", \"b\": \"Zoë\"}"


def test_integers_that_may_be_identifiers_are_texts_and_go_back_as_strings() -> None:
    """7 digits or more, as written: a changed one is a JSON string, an unchanged one keeps
    its bytes; short integers, floats and exponents are no texts."""
    arguments = ('{"card": 4111111111111111, "qty": 3, "order": 1017, "six": 123456,\n'
                 ' "ids": [-1234567, 1733059200], "price": 12345678.50, "big": 1E9,'
                 ' "e": 12345678e2, "ok": true, "s": "4111111111111111"}')
    assert values_of(arguments) == ["4111111111111111", "-1234567", "1733059200",
                                    "4111111111111111"]
    holder = {"arguments": arguments}
    slots = ARGUMENTS.slots(holder, "arguments")
    write_texts(slots, ["CREDIT_CARD0", "-GOV_ID0", "1733059200", "CREDIT_CARD0"])
    assert holder["arguments"] == arguments.replace(
        "4111111111111111,", '"CREDIT_CARD0",').replace("-1234567", '"-GOV_ID0"').replace(
        '"4111111111111111"', '"CREDIT_CARD0"')
    # Read after their parameter name (value_names.py); list items have none.
    assert [s.get() for s in slots] == ["card: CREDIT_CARD0", "-GOV_ID0", "1733059200",
                                        "s: CREDIT_CARD0"]
    write_texts(slots, ["4111111111111111", "-1234567", "1733059200", "4111111111111111"])
    assert holder["arguments"] == arguments  # set back: the number's own bytes again


def test_a_letterless_value_is_read_after_its_name_and_written_without_it() -> None:
    arguments = '{"phone": "415 555 0123", "name": "Ann", "tel": 4155550123, "n": ["0123"]}'
    holder = {"arguments": arguments}
    slots = ARGUMENTS.slots(holder, "arguments")
    assert [s.get() for s in slots] == ["phone: 415 555 0123", "Ann", "tel: 4155550123",
                                        "0123"]
    write_texts(slots, ["phone: PHONE0", "PERSON0", "tel: PHONE1", "0123"])
    assert json.loads(holder["arguments"]) == {"phone": "PHONE0", "name": "PERSON0",
                                               "tel": "PHONE1", "n": ["0123"]}
    write_texts(slots, ["phone: 415 555 0123", "Ann", "tel: 4155550123", "0123"])
    assert holder["arguments"] == arguments


def test_not_a_document_is_one_text_slot() -> None:
    holder = {"arguments": '{"to whom": "x"}'}
    (slot,) = ARGUMENTS.slots(holder, "arguments")
    assert type(slot) is TextSlot and slot.get() == '{"to whom": "x"}'


# -- answers --------------------------------------------------------------------------------

def escaped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_non_streamed_answers_restore_arguments_escaped_and_prose_raw() -> None:
    arguments = '{"to": "PERSON0", "at": ["ADDRESS0 / PATH0"], "x": "PERSON10"}'
    expected = {"to": ITEMS["PERSON0"], "at": [f"{ITEMS['ADDRESS0']} / {ITEMS['PATH0']}"],
                "x": ITEMS["PERSON10"]}
    restorer = Restorer(ITEMS, label_of)
    chat = CHAT_FORMAT.restore_answer({"choices": [{"index": 0, "message": {
        "role": "assistant", "content": "Hi PERSON0",
        "function_call": {"name": "f", "arguments": arguments},
        "tool_calls": [{"id": "c", "type": "function",
                        "function": {"name": "f", "arguments": arguments}}]}}]}, restorer)
    message = chat["choices"][0]["message"]
    assert message["content"] == "Hi " + ITEMS["PERSON0"]
    assert json.loads(message["function_call"]["arguments"]) == expected
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == expected
    assert restorer.restored == {"PERSON": 5, "ADDRESS": 2, "PATH": 2}
    response = ResponsesFormat().restore_answer({"output": [
        {"type": "mcp_call", "id": "mcp_1", "arguments": arguments, "output": "PERSON0"},
        {"type": "mcp_approval_request", "id": "a", "arguments": arguments}]},
        Restorer(ITEMS, label_of))
    assert [json.loads(i["arguments"]) for i in response["output"]] == [expected] * 2
    assert response["output"][0]["output"] == ITEMS["PERSON0"]


def test_legacy_function_call_stream_restores_escaped_at_every_cut() -> None:
    arguments = '{"to": "PERSON0", "x": "PERSON10"}'
    for cut in range(1, len(arguments)):
        stream = StreamRestorer(Restorer(ITEMS, label_of))
        out = []
        for piece in (arguments[:cut], arguments[cut:]):
            out += stream.chunk({"choices": [{"index": 0, "finish_reason": None,
                                              "delta": {"function_call": {"arguments": piece}}}]})
        out += stream.chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        joined = "".join(c["choices"][0]["delta"].get("function_call", {}).get("arguments", "")
                         for c in out)
        assert json.loads(joined) == {"to": ITEMS["PERSON0"], "x": ITEMS["PERSON10"]}, cut


def test_mcp_call_argument_events_restore_escaped_at_every_cut() -> None:
    arguments = '{"to": "PERSON0", "x": "PERSON10"}'
    expected = {"to": ITEMS["PERSON0"], "x": ITEMS["PERSON10"]}
    base = {"output_index": 0, "item_id": "mcp_1"}
    for cut in range(1, len(arguments)):
        stream = ResponsesStream(Restorer(ITEMS, label_of))
        events = [{"type": "response.mcp_call_arguments.delta", **base, "delta": piece}
                  for piece in (arguments[:cut], arguments[cut:])]
        events += [{"type": "response.mcp_call_arguments.done", **base, "arguments": arguments},
                   {"type": "response.output_item.done", "output_index": 0, "item": {
                       "type": "mcp_call", "id": "mcp_1", "arguments": arguments}}]
        out = [json.loads(raw.decode().split("data: ", 1)[1])
               for e in events for raw in stream.feed(SSEEvent([], json.dumps(e)))]
        deltas = "".join(e["delta"] for e in out if e["type"].endswith(".delta"))
        done = next(e for e in out if e["type"] == "response.mcp_call_arguments.done")
        item = out[-1]["item"]["arguments"]
        assert deltas == done["arguments"] == item, cut
        assert json.loads(item) == expected
        assert escaped(ITEMS["PERSON10"])[1:-1] in item
