// The rules of config/agent.yaml as a JS module: rules may carry postproc(match), which turns the
// regular-expression match into substitutions, or returns null to ignore the line.
// Start with: totalizer-agent --config config/agent.config.mjs

const combined = /^(\S+) \S+ \S+ \[[^\]]*\] "([A-Z]+) ([^ "?]+)[^"]*" (\d{3}) /;

export default {
  redis: 'redis://127.0.0.1:6379',
  stats: 60,
  defaults: {
    address: '127.0.0.1',
    port: 3430,
    // source: unset, this machine's short host name (see config/agent.yaml)
    ttl: 86400,
    buckets: 96,
  },
  rules: [
    {
      name: 'web_client',
      prefix: 'web_client',
      matchex: combined.source,
      postproc: (m) => ({ matched: `${m[1]},${m[4]}` }),
      columns: ['ip', 'status'],
    },
    {
      name: 'web_page',
      prefix: 'web_page',
      matchex: combined.source,
      // Same as the YAML rule (cut at ';', lower case, 32 characters); a path that is empty after the
      // cut is ignored (null) rather than counted.
      postproc: (m) => {
        const page = m[3].split(';')[0].toLowerCase().slice(0, 32);
        return page ? { matched: page } : null;
      },
    },
    {
      name: 'web_bytes',
      prefix: 'web_bytes',
      // A measure: postproc returns the value too (the YAML rule's value: "{2}").
      matchex: combined.source.replace('(\\d{3}) ', '(\\d{3}) (\\d+)'),
      measure: 'sum',
      postproc: (m) => {
        const page = m[3].split(';')[0].toLowerCase().slice(0, 32);
        return page ? { matched: page, value: m[5] } : null;
      },
    },
  ],
};
