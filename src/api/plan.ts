import type { Plan } from "../workflow/description.js";
import { planDescription as planWith } from "../workflow/description.js";
import { engineCatalog } from "./engines.js";

/**
 * Validates a description file against the engines corral knows and returns its plan, or throws a
 * DescriptionError listing every problem with its line and column.
 */
export function planDescription(file: string, opts: { engine?: string } = {}): Plan {
  return planWith(file, engineCatalog(), opts);
}
