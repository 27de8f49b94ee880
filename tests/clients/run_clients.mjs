// One real npm client reading every case of the differential corpus (tests/clients).
//
// Usage: node run_clients.mjs CLIENT NODE_MODULES_DIR < cases.jsonl
// CLIENT: openai-node | ai-sdk | ai-sdk-open-responses. Each stdin line is a case
// {"id", "base_url", "tools": [names], "deadline": seconds}; each stdout line is one observation
// (the shape is documented in tests/clients/observation.py). Cases run concurrently so that the
// streams a server holds open cost one deadline in all, not one each: a client that has not
// finished reading by its deadline is aborted and reported `hung`.
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

async function openaiNode(mod, version, job, signal) {
  const OpenAI = mod.OpenAI ?? mod.default?.OpenAI ?? mod.default;
  const api = new OpenAI({ baseURL: job.base_url, apiKey: "sk-test", maxRetries: 0 });
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

async function aiSdk(libs, version, job, signal) {
  const { streamText, tool, jsonSchema } = libs.ai;
  const tools = Object.fromEntries(
    (job.tools ?? []).map((name) => [
      name,
      tool({ description: name, inputSchema: jsonSchema({ type: "object", additionalProperties: true }) }),
    ]),
  );
  const obs = blank(version);
  const result = streamText({
    model: libs.model(job.base_url),
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
    });
  }
  return obs;
}

async function setUp() {
  if (client === "openai-node") {
    const mod = await load("openai");
    return { version: versionOf("openai"), run: (job, signal) => openaiNode(mod, versionOf("openai"), job, signal) };
  }
  const ai = await load("ai");
  if (client === "ai-sdk") {
    const { createOpenAI } = await load("@ai-sdk/openai");
    const version = `ai ${versionOf("ai")} + @ai-sdk/openai ${versionOf("@ai-sdk/openai")}`;
    const model = (baseURL) => createOpenAI({ baseURL, apiKey: "sk-test" }).responses(MODEL);
    return { version, run: (job, signal) => aiSdk({ ai, model }, version, job, signal) };
  }
  if (client === "ai-sdk-open-responses") {
    const { createOpenResponses } = await load("@ai-sdk/open-responses");
    const version = `ai ${versionOf("ai")} + @ai-sdk/open-responses ${versionOf("@ai-sdk/open-responses")}`;
    const model = (baseURL) =>
      createOpenResponses({ url: `${baseURL}/responses`, name: "harness", apiKey: "sk-test" })(MODEL);
    return { version, run: (job, signal) => aiSdk({ ai, model }, version, job, signal) };
  }
  throw new Error(`unknown client ${client}`);
}

async function observe(runner, job) {
  const controller = new AbortController();
  const started = performance.now();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    controller.abort(new Error("harness deadline"));
  }, job.deadline * 1000);
  try {
    const obs = await runner.run(job, controller.signal);
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
const pending = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const job = JSON.parse(line);
  pending.push(observe(runner, job).then((obs) => process.stdout.write(`${JSON.stringify(obs)}\n`)));
}
await Promise.all(pending);
