import { afterAll, beforeAll, expect, it } from 'vitest';
import { runSimulation } from '../simulator/run/index.js';
import { describeMosquitto, startMosquitto, type MosquittoBroker } from './helpers/mosquitto.js';
import { SCENARIOS, failed, scenario } from './simulator-run-support.js';

// The whole scenario library against a real Mosquitto over TLS (CA made at test time). Broker outages restart
// Mosquitto for real (sessions kept in its persistence file). Under CI=true a missing Mosquitto fails this suite.
describeMosquitto('simulator scenario library on Mosquitto', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => {
    broker = await startMosquitto();
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
  });

  for (const name of SCENARIOS) {
    it(`${name}: every verdict passes (compressed to one virtual day)`, async () => {
      const result = await runSimulation(await scenario(name), {
        broker: { url: broker.url, caPem: broker.caPem, restart: () => broker.restart() },
      });
      expect(result.report.scenario.broker).toBe(broker.url);
      expect(failed(result.verdicts), broker.log()).toEqual([]);
      expect(result.runtime.stalls).toBe(0);
    }, 90_000);
  }
});
