"""``ssescope probe``: the request side. A battery of realistic requests (what Codex and the SDKs
send, replayed history included), each answer judged by the full checker and the client models,
and every rejection narrowed down to the input item or tool that causes it."""
