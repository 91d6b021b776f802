#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { applyNagChecks } from '../lib/nag-acknowledgements';
import { addTxlakeStacks } from '../lib/txlake-app';

const app = new App();
addTxlakeStacks(app);
applyNagChecks(app);
app.synth();
