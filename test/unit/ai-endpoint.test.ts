/** The endpoint an AI failure names: where the call went, without what would give access to it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aiEndpoint } from '../../activities/ai.js';

test('an AI failure names the base URL by origin and path; credentials, query and trailing slash are left out', () => {
  assert.equal(aiEndpoint(undefined), 'https://api.openai.com/v1');
  assert.equal(aiEndpoint('http://127.0.0.1:8000/v1/'), 'http://127.0.0.1:8000/v1');
  assert.equal(
    aiEndpoint('https://ops:hunter2@llm.example.com/openai/v1?api-key=sk-secret'),
    'https://llm.example.com/openai/v1',
  );
  assert.equal(aiEndpoint('not a url'), 'the configured OPENAI_BASE_URL');
});
