// aws-local-stepfunctions 3 relies on Promise.withResolvers (Node 22+); Node 20 needs the polyfill.
import '../runner/local/promise-with-resolvers';
import '../cli/node-warnings';
