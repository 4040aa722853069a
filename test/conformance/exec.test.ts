import { asEndpoint, openAddress, testEndpoint } from './suite.js';

testEndpoint({
  name: 'EXEC:cat',
  open: async () => ({ endpoint: asEndpoint(await openAddress('EXEC:cat')), received: 'echo' }),
  failing: () => 'EXEC:/nonexistent/program',
});

testEndpoint({
  name: 'SYSTEM:cat',
  open: async () => ({ endpoint: asEndpoint(await openAddress('SYSTEM:cat')), received: 'echo' }),
});

testEndpoint({
  name: 'SHELL:cat',
  open: async () => ({ endpoint: asEndpoint(await openAddress('SHELL:cat')), received: 'echo' }),
});
