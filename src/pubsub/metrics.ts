/**
 * The pubsub metrics, registered once per router through the injected Metrics.
 *
 * Topic labels are bounded: the first MAX_TOPIC_LABELS distinct topics that get a mesh keep their
 * own label value; any further topic is reported under `_other`, so a node joining thousands of
 * topics cannot blow up the series count. Counters carry no topic label at all.
 */
import type { Counter, Gauge, Metrics } from '../metrics/metrics.js';
import { PENALTY_REASONS } from './types.js';

export const MAX_TOPIC_LABELS = 50;
export const OTHER_TOPIC_LABEL = '_other';

export class GossipMetrics {
  readonly meshPeers: Gauge;
  readonly published: Counter;
  readonly delivered: Counter;
  readonly duplicates: Counter;
  readonly ihaveSent: Counter;
  readonly ihaveReceived: Counter;
  readonly iwantSent: Counter;
  readonly iwantReceived: Counter;
  readonly penalised: Counter;
  private readonly labelled = new Set<string>();

  constructor(metrics: Metrics) {
    this.meshPeers = metrics.gauge('quicmesh_gossip_mesh_peers', 'Mesh peers per topic (first 50 topics; rest as _other)', [
      'topic',
    ]);
    this.published = metrics.counter('quicmesh_gossip_messages_published_total', 'Messages this node authored');
    this.delivered = metrics.counter('quicmesh_gossip_messages_delivered_total', 'Messages delivered to the application');
    this.duplicates = metrics.counter('quicmesh_gossip_duplicates_total', 'Full message copies received more than once');
    this.ihaveSent = metrics.counter('quicmesh_gossip_ihave_sent_total', 'IHave messages sent');
    this.ihaveReceived = metrics.counter('quicmesh_gossip_ihave_received_total', 'IHave messages received');
    this.iwantSent = metrics.counter('quicmesh_gossip_iwant_sent_total', 'IWant messages sent');
    this.iwantReceived = metrics.counter('quicmesh_gossip_iwant_received_total', 'IWant messages received');
    this.penalised = metrics.counter(
      'quicmesh_gossip_peers_penalised_total',
      'Score penalties applied to peers, by reason',
      ['reason'],
    );
    // The reasons are a fixed set: start each at 0 so rates exist before the first penalty.
    for (const reason of PENALTY_REASONS) this.penalised.inc({ reason }, 0);
  }

  /** The label value for `topic` (see the module comment). */
  topicLabel(topic: string): string {
    if (this.labelled.has(topic)) return topic;
    if (this.labelled.size < MAX_TOPIC_LABELS) {
      this.labelled.add(topic);
      return topic;
    }
    return OTHER_TOPIC_LABEL;
  }
  /** Set the mesh-size gauge from `meshes` (topic -> mesh); topics past the label limit add up under `_other`. */
  reportMeshSizes(meshes: ReadonlyMap<string, { readonly size: number }>): void {
    let other = 0;
    let hasOther = false;
    for (const [topic, mesh] of meshes) {
      const label = this.topicLabel(topic);
      if (label === OTHER_TOPIC_LABEL) {
        other += mesh.size;
        hasOther = true;
      } else this.meshPeers.set(mesh.size, { topic: label });
    }
    if (hasOther) this.meshPeers.set(other, { topic: OTHER_TOPIC_LABEL });
  }
}
