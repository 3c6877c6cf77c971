/**
 * Workflow histories to and from the JSON that Temporal's tools write and read (`temporal workflow
 * show --output json`): the recorded histories of test/fixtures/workflow-histories.
 *
 * Not the SDK's own `historyToJSON`/`historyFromJSON` (nor `Worker.runReplayHistory` given JSON, which
 * calls the latter): here @temporalio/common and @temporalio/proto each have a copy of protobufjs of
 * their own, and those functions hand one copy's message types to the other copy's JSON codec, which
 * refuses them ("type must be a Type"). This uses the codec of the copy @temporalio/proto is built on.
 */
import { createRequire } from 'node:module'
import proto from '@temporalio/proto'
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js'

export type History = proto.temporal.api.history.v1.IHistory

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown
  fromJson(type: unknown, json: unknown): History
}

const require = createRequire(import.meta.url)
const protoJson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson
// (The generated module's types leave out the root's lookupType.)
const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }
const historyType = root.lookupType('temporal.api.history.v1.History')

export function historyToJson(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history)
  return JSON.stringify(protoJson.toJson(historyType, message), null, 2)
}

export function historyFromJson(json: string): History {
  return protoJson.fromJson(historyType, JSON.parse(json))
}
