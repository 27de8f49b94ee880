// One real npm client reading every case of the differential corpus (tests/clients).
//
// Usage: node run_clients.mjs CLIENT NODE_MODULES_DIR < cases.jsonl
// CLIENT: openai-node | ai-sdk | ai-sdk-open-responses. Each stdin line is a case
// {"id", "base_url", "tools": [names], "held", "deadline", "head_deadline"}; each stdout line is one
// observation (the fields are read by tests/clients/classify.py). Cases run concurrently so that
// the streams a server holds open cost one deadline in all, not one each: a client that has not
// finished reading `deadline` seconds after the response head arrived (the server sends the
// whole case right after it) is aborted and reported `hung`; so is one that got no head within
// `head_deadline` seconds. The clock starts at the head, so a loaded machine's slow start does
// not look like a hang.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [client, modulesDir] = process.argv.slice(2);
const resolver = createRequire(`${modulesDir}/`);
const load = async (name) => import(pathToFileURL(resolver.resolve(name)).href);
const versionOf = (name) =>
  JSON.parse(readFileSync(`${modulesDir}/${name}/package.json`, "utf8")).version;
const MODEL = "gpt-4.1-mini";

const MESSAGE_LIMIT = 1500; // zod's validation reports run to 20 kB; their head says it all
const clip = (text) => (text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text);
const describe = (error) => {
  if (error == null) return null;
  if (typeof error !== "object") return { type: typeof error, message: clip(String(error)) };
  return {
    type: error.name && error.name !== "Error" ? error.name : error.constructor?.name ?? "Error",
    message: clip(String(error.message ?? JSON.stringify(error))),
  };
};

const blank = (version) => ({
  client,
  version,
  error: null,
  text: "",
  streamed_text: "",
  refusal: "",
  tool_calls: [],
  reasoning: "",
  status: null,
  hung: false,
  error_parts: [],
  events: 0,
});

// -- openai-node: client.responses.stream() + finalResponse() -----------------------------------

function fromResponse(obs, response) {
  for (const item of response.output ?? []) {
    if (item.type === "message") {
      for (const part of item.content ?? []) {
        if (part.type === "output_text") obs.text += part.text ?? "";
        if (part.type === "refusal") obs.refusal += part.refusal ?? "";
      }
    } else if (item.type === "function_call") {
      obs.tool_calls.push({ name: item.name, call_id: item.call_id, arguments: item.arguments });
    } else if (item.type === "reasoning") {
      for (const part of item.summary ?? []) obs.reasoning += part.text ?? "";
      for (const part of item.content ?? []) obs.reasoning += part.text ?? "";
    }
  }
  obs.status = response.status ?? null;
  obs.response_error = response.error ?? null;
  obs.output_text = response.output_text ?? null;
}

async function openaiNode(mod, version, job, signal, fetch) {
  const OpenAI = mod.OpenAI ?? mod.default?.OpenAI ?? mod.default;
  const api = new OpenAI({ baseURL: job.base_url, apiKey: "sk-test", maxRetries: 0, fetch });
  const obs = blank(version);
  try {
    const stream = api.responses.stream({ model: MODEL, input: "hi" }, { signal });
    for await (const event of stream) {
      obs.events += 1;
      if (event.type === "response.output_text.delta") obs.streamed_text += event.delta;
    }
    fromResponse(obs, await stream.finalResponse());
  } catch (error) {
    obs.error = describe(error);
  }
  return obs;
}

// -- the AI SDK: streamText() over a Responses provider ------------------------------------------

async function aiSdk(libs, version, job, signal, fetch) {
  const { streamText, tool, jsonSchema } = libs.ai;
  const tools = Object.fromEntries(
    (job.tools ?? []).map((name) => [
      name,
      tool({ description: name, inputSchema: jsonSchema({ type: "object", additionalProperties: true }) }),
    ]),
  );
  const obs = blank(version);
  const result = streamText({
    model: libs.model(job.base_url, fetch),
    prompt: "hi",
    tools: job.tools?.length ? tools : undefined,
    maxRetries: 0,
    abortSignal: signal,
    onError: () => {},
  });
  try {
    for await (const part of result.fullStream) {
      obs.events += 1;
      if (part.type === "text-delta") obs.streamed_text += part.text ?? part.delta ?? "";
      else if (part.type === "error") obs.error_parts.push(describe(part.error));
      else if (part.type === "tool-error") obs.error_parts.push({ ...describe(part.error), tool: part.toolName });
      else if (part.type === "abort") obs.error_parts.push({ type: "abort", message: String(part.reason ?? "") });
    }
  } catch (error) {
    obs.error = describe(error);
  }
  const settle = async (promise) => {
    try {
      return await promise;
    } catch (error) {
      obs.error ??= describe(error);
      return undefined;
    }
  };
  obs.text = (await settle(result.text)) ?? "";
  obs.reasoning = (await settle(result.reasoningText)) ?? "";
  obs.status = (await settle(result.finishReason)) ?? null;
  for (const call of (await settle(result.toolCalls)) ?? []) {
    obs.tool_calls.push({
      name: call.toolName,
      call_id: call.toolCallId,
      arguments: typeof call.input === "string" ? call.input : JSON.stringify(call.input),
      ...(call.invalid ? { invalid: true } : {}),
      ...(call.providerExecuted ? { provider_executed: true } : {}),
    });
  }
  return obs;
}

async function setUp() {
  if (client === "openai-node") {
    const mod = await load("openai");
    const version = versionOf("openai");
    return { version, run: (job, signal, fetch) => openaiNode(mod, version, job, signal, fetch) };
  }
  const ai = await load("ai");
  if (client === "ai-sdk") {
    const { createOpenAI } = await load("@ai-sdk/openai");
    const version = `ai ${versionOf("ai")} + @ai-sdk/openai ${versionOf("@ai-sdk/openai")}`;
    const model = (baseURL, fetch) => createOpenAI({ baseURL, apiKey: "sk-test", fetch }).responses(MODEL);
    return { version, run: (job, signal, fetch) => aiSdk({ ai, model }, version, job, signal, fetch) };
  }
  if (client === "ai-sdk-open-responses") {
    const { createOpenResponses } = await load("@ai-sdk/open-responses");
    const version = `ai ${versionOf("ai")} + @ai-sdk/open-responses ${versionOf("@ai-sdk/open-responses")}`;
    const model = (baseURL, fetch) =>
      createOpenResponses({ url: `${baseURL}/responses`, name: "harness", apiKey: "sk-test", fetch })(MODEL);
    return { version, run: (job, signal, fetch) => aiSdk({ ai, model }, version, job, signal, fetch) };
  }
  throw new Error(`unknown client ${client}`);
}

async function observe(runner, job) {
  const controller = new AbortController();
  const started = performance.now();
  let hung = false;
  let timer;
  const arm = (seconds) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      hung = true;
      controller.abort(new Error("harness deadline"));
    }, seconds * 1000);
  };
  arm(job.head_deadline);
  const watched = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    arm(job.deadline);
    return response;
  };
  try {
    const obs = await runner.run(job, controller.signal, watched);
    obs.hung = hung;
    obs.seconds = Math.round(performance.now() - started) / 1000;
    return { id: job.id, ...obs };
  } catch (error) {
    return { id: job.id, ...blank(runner.version), hung, error: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

const runner = await setUp();
const jobs = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) jobs.push(JSON.parse(line));
}
// the held cases last, on their own: their deadline must not be eaten by the CPU the others
// take on a loaded machine
for (const batch of [jobs.filter((j) => !j.held), jobs.filter((j) => j.held)]) {
  await Promise.all(
    batch.map((job) => observe(runner, job).then((obs) => process.stdout.write(`${JSON.stringify(obs)}\n`))),
  );
}
