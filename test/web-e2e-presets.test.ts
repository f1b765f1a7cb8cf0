/** The chat page in headless Chromium: system prompt presets (save under a name, pick, keep after reload, delete). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, openPage, useWebStack, type WebFixture } from './web-helpers.js';

const skip = chromiumAvailable() ? false : 'chromium is not installed at /usr/bin/chromium';
const PIRATE = 'Answer like a pirate, in two sentences at most.';

/** The label of the picker's chosen entry. */
function shownPreset(page: Page): Promise<string> {
  return page.$eval('#preset', (select) => (select as HTMLSelectElement).selectedOptions[0]?.textContent ?? '');
}

function presetLabels(page: Page): Promise<string[]> {
  return page.$$eval('#preset option', (options) => options.map((option) => option.textContent ?? ''));
}

/** The user's presets as the page keeps them. */
function storedPresets(page: Page): Promise<Array<{ id: string; name: string; prompt: string }>> {
  return page.evaluate(() => JSON.parse(localStorage.getItem('g4f.presets') ?? '[]') as Array<{ id: string; name: string; prompt: string }>);
}

async function showPanel(page: Page): Promise<void> {
  await page.click('#system-panel summary');
  await page.locator('#system-prompt').waitFor();
}

/** The page with the system prompt panel open. */
async function openPanel(web: WebFixture): Promise<{ context: BrowserContext; page: Page }> {
  const opened = await openPage(web.browser, web.stack.url);
  await showPanel(opened.page);
  return opened;
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await showPanel(page);
}

describe('web page: system prompt presets', { skip }, () => {
  const web = useWebStack();

  test('Cancel, Escape, an empty name and an empty prompt save nothing', async () => {
    const { context, page } = await openPanel(web);
    const before = await presetLabels(page);
    const dialog = page.locator('.ask-dialog');
    // No system prompt: nothing to save, no dialog.
    await page.fill('#system-prompt', '   ');
    await page.click('#save-preset');
    assert.equal(await dialog.count(), 0, 'no dialog for an empty prompt');

    await page.fill('#system-prompt', PIRATE);
    assert.equal(await shownPreset(page), 'Custom');
    await page.click('#save-preset');
    await dialog.waitFor();
    assert.equal(await dialog.locator('p').textContent(), 'Name of the preset');
    assert.equal(await dialog.locator('input').evaluate((input) => input === document.activeElement), true, 'the name field has the focus');
    await dialog.locator('input').fill('Pirate');
    await dialog.locator('[data-answer="cancel"]').click();
    await dialog.waitFor({ state: 'detached' });

    await page.click('#save-preset');
    await dialog.locator('input').fill('Pirate');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // An empty name or one of spaces is refused: the dialog stays open with the field empty.
    await page.click('#save-preset');
    await dialog.locator('[data-answer="ok"]').click();
    await dialog.locator('input').fill('   ');
    await dialog.locator('input').press('Enter');
    assert.equal(await dialog.locator('input').inputValue(), '', 'spaces are cleared');
    assert.equal(await dialog.locator('input').evaluate((input) => (input as HTMLInputElement).validity.valueMissing), true, 'the field says it is required');
    assert.equal(await dialog.evaluate((element) => (element as HTMLDialogElement).open), true, 'still asking');
    await dialog.locator('[data-answer="cancel"]').click();
    await dialog.waitFor({ state: 'detached' });

    assert.deepEqual(await presetLabels(page), before);
    assert.deepEqual(await storedPresets(page), []);
    assert.equal(await shownPreset(page), 'Custom');
    assert.equal(await page.inputValue('#system-prompt'), PIRATE, 'the prompt is left as it was');
    await context.close();
  });

  test('a prompt saved under a name is shown by that name, kept after a reload, picked again, replaced, deleted', async () => {
    const { context, page } = await openPanel(web);
    const builtins = await presetLabels(page);
    const dialog = page.locator('.ask-dialog');
    const deleteButton = page.locator('#delete-preset');
    assert.equal(await deleteButton.isVisible(), false, 'nothing to delete');
    // A line end after the prompt, as a textarea often has.
    await page.fill('#system-prompt', `${PIRATE}\n`);
    await page.click('#save-preset');
    await dialog.locator('input').fill('  Pirate ');
    await dialog.locator('[data-answer="ok"]').click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await shownPreset(page), 'Pirate', 'the picker shows the new preset');
    assert.equal(await deleteButton.isVisible(), true, 'a preset of the user can be deleted');
    assert.deepEqual(await presetLabels(page), [...builtins.slice(0, -1), 'Pirate', 'Custom']);
    assert.deepEqual(
      (await storedPresets(page)).map(({ name, prompt }) => ({ name, prompt })),
      [{ name: 'Pirate', prompt: PIRATE }],
      'kept by name, the prompt without its line end',
    );

    // Kept after a reload; picking it puts its prompt in the field.
    await reload(page);
    await page.fill('#system-prompt', '');
    assert.equal(await shownPreset(page), 'No system prompt');
    await page.selectOption('#preset', { label: 'Pirate' });
    assert.equal(await page.inputValue('#system-prompt'), PIRATE);
    assert.equal(await shownPreset(page), 'Pirate');
    assert.equal(await deleteButton.isVisible(), true);
    // A built-in preset cannot be deleted.
    await page.selectOption('#preset', { label: 'Concise' });
    assert.equal(await deleteButton.isVisible(), false, 'built-in presets stay');
    // A built-in prompt saved under another name: the picker shows the name just given; once that
    // preset is deleted, the built-in one.
    await page.click('#save-preset');
    await dialog.locator('input').fill('Short');
    await dialog.locator('input').press('Enter');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await shownPreset(page), 'Short');
    await deleteButton.click();
    assert.equal(await shownPreset(page), 'Concise');
    assert.deepEqual(
      (await storedPresets(page)).map((preset) => preset.name),
      ['Pirate'],
    );

    // Saving under the same name replaces it.
    await page.fill('#system-prompt', 'Answer like a very old pirate.');
    await page.click('#save-preset');
    await dialog.locator('input').fill('Pirate');
    await dialog.locator('input').press('Enter');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await shownPreset(page), 'Pirate');
    assert.equal((await presetLabels(page)).filter((label) => label === 'Pirate').length, 1, 'one preset per name');
    assert.deepEqual(
      (await storedPresets(page)).map((preset) => preset.prompt),
      ['Answer like a very old pirate.'],
    );

    // Delete: gone from the picker and the storage; the prompt stays, now a custom one.
    await deleteButton.click();
    assert.equal(await shownPreset(page), 'Custom');
    assert.equal(await deleteButton.isVisible(), false);
    assert.deepEqual(await presetLabels(page), builtins);
    assert.deepEqual(await storedPresets(page), []);
    assert.equal(await page.inputValue('#system-prompt'), 'Answer like a very old pirate.');
    await reload(page);
    assert.deepEqual(await presetLabels(page), builtins, 'still gone after a reload');
    await context.close();
  });
});
