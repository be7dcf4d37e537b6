/** The definition of the `expression-sliced` history (recorded by record.ts, replayed by the suite). */
export const SLICED_DEFINITION = {
  id: 'expression-sliced',
  nodes: [
    { id: 'crunch', type: 'set', assign: { sum: '$reduce([1..1400], function($a, $b) { $a + $b })' } },
    {
      id: 'text',
      type: 'set',
      assign: { words: '$split("a , b,c", /\\s*,\\s*/)', encoded: '$base64encode("weft")' },
    },
  ],
  edges: [{ from: 'crunch', to: 'text' }],
};
