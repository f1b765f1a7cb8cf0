/** `g4f models`: each model, its aliases and the providers that serve it, in order. */
import { openRouter, type GlobalOptions } from './context.js';
import { writeOut } from './stdout.js';
import { createStyle } from './style.js';
import { formatTable } from './table.js';
import { EXIT } from './usage-error.js';

export interface ModelsOptions {
  json?: boolean;
}

export async function runModels(options: ModelsOptions, globals: GlobalOptions): Promise<number> {
  const router = await openRouter(globals);
  // Upstreams that list their models (`"models": "auto"`) are asked first.
  await router.refreshModels();
  const models = router.listModels();
  if (options.json === true) {
    await writeOut(`${JSON.stringify(models, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = createStyle(process.stdout);
  const rows = models.map((model) => [style.bold(model.id), model.aliases.length === 0 ? '-' : model.aliases.join(', '), model.providers.join(' > ')]);
  await writeOut(`${formatTable(['MODEL', 'ALIASES', 'PROVIDERS (in order)'], rows, style.dim)}\n`);
  return EXIT.ok;
}
