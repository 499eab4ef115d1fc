/**
 * The reuse facts of a stored entry (its directives, lifetime, initial age and Vary names: `storedFacts`), worked
 * out once per entry object. The proxy never changes an entry it holds (a 304 makes a new one), and the memory
 * store hands the same objects back, so every hit on it reads them here instead of scanning its header lines.
 */
import { type PolicyOptions, type StoredFacts, storedFacts } from '../client/policy.ts';
import type { StoredResponse } from '../client/store.ts';
import { policyLines } from './surrogate.ts';

const FACTS = new WeakMap<StoredResponse, { policy: PolicyOptions; facts: StoredFacts }>();

export function factsOf(entry: StoredResponse, policy: PolicyOptions): StoredFacts {
  const known = FACTS.get(entry);
  if (known?.policy === policy) return known.facts;
  // Surrogate-Control aimed at the proxy stands in for Cache-Control and Expires (surrogate.ts).
  const facts = storedFacts({ ...entry, headers: policyLines(entry.headers) }, policy);
  FACTS.set(entry, { policy, facts });
  return facts;
}
