/**
 * The agent's trajectory (`agent/trajectory.json`, the ATIF format Harbor's agents write, rewritten
 * after every episode): read whole, its steps become one event each. Pure.
 */
import { z } from 'zod'

const Step = z
  .object({
    step_id: z.number().int(),
    timestamp: z.string().nullish(),
    source: z.string().nullish(),
    model_name: z.string().nullish(),
    message: z.unknown().optional(),
    reasoning_content: z.unknown().optional(),
    tool_calls: z
      .array(z.object({ function_name: z.string().nullish(), arguments: z.unknown().optional() }).passthrough())
      .nullish(),
    observation: z.unknown().optional(),
    metrics: z.unknown().optional(),
  })
  .passthrough()
type Step = z.infer<typeof Step>

const Trajectory = z.object({ steps: z.array(Step) }).passthrough()

/** The steps of a trajectory document, or null while it is not (yet) a whole, valid one. */
export function trajectorySteps(text: string): Step[] | null {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return null // being rewritten: read it again next time
  }
  const parsed = Trajectory.safeParse(json)
  return parsed.success ? parsed.data.steps : null
}

const TEXT_LIMIT = 4000

/** One step as a compact JSON line (long texts cut with a visible marker), for the run's log. */
export function compactStep(step: Step): string {
  return JSON.stringify({
    step_id: step.step_id,
    timestamp: step.timestamp ?? null,
    source: step.source ?? null,
    model_name: step.model_name ?? null,
    message: cut(step.message),
    reasoning: cut(step.reasoning_content),
    tool_calls: (step.tool_calls ?? []).map((call) => ({
      function: call.function_name ?? null,
      arguments: cut(call.arguments),
    })),
    observation: cut(step.observation),
    metrics: step.metrics ?? null,
  })
}

function cut(value: unknown): string | null {
  if (value === undefined || value === null) return null
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > TEXT_LIMIT
    ? `${text.slice(0, TEXT_LIMIT)} … [cut: ${text.length - TEXT_LIMIT} more characters]`
    : text
}
