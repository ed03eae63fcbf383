// The W3C reference implementations, driven by tests/test_interop_reference.py.
//
// Usage: node reference.mjs CONTEXTS_DIR JOBS.json RESULTS.json
//
// CONTEXTS_DIR is what `vcwallet contexts export` writes (index.json: URL -> file). JSON-LD
// contexts are loaded from there only and did:key URLs are resolved by the did:key driver,
// so nothing is fetched from the network. JOBS.json is a list of {op, ...}; RESULTS.json
// gets one object per job, in order: the op's answer, or {error} when the op threw.
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {CachedResolver} from '@digitalbazaar/did-io';
import jsigs from 'jsonld-signatures';
import * as jose from 'jose';

const {purposes: {AuthenticationProofPurpose}} = jsigs;

const SUITES = {
  'eddsa-rdfc-2022': {cryptosuite: eddsaRdfc2022, multikey: Ed25519Multikey, alg: 'EdDSA'},
  'ecdsa-rdfc-2019': {cryptosuite: ecdsaRdfc2019, multikey: EcdsaMultikey, alg: 'ES256'}
};

function makeDocumentLoader(contextsDir, index) {
  const keys = didKeyDriver();
  // did:key headers: Ed25519 public keys start z6Mk, P-256 ones zDna
  keys.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  keys.use({multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from});
  const dids = new CachedResolver();
  dids.use(keys);
  const cache = new Map();
  return async url => {
    if(url.startsWith('did:key:')) {
      const document = await dids.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    const file = index[url];
    if(file === undefined) {
      throw new Error(`context not exported by vcwallet (no network here): ${url}`);
    }
    if(!cache.has(url)) {
      const text = await readFile(path.join(contextsDir, file), 'utf8');
      cache.set(url, JSON.parse(text));
    }
    return {contextUrl: null, documentUrl: url, document: cache.get(url)};
  };
}

function suiteFor(name) {
  const found = SUITES[name];
  if(!found) {
    throw new Error(`unknown cryptosuite ${name}`);
  }
  return found;
}

// Every cryptosuite the reference verifier accepts here.
function verifySuites() {
  return Object.values(SUITES).map(
    ({cryptosuite}) => new DataIntegrityProof({cryptosuite}));
}

async function signingSuite(job) {
  const {cryptosuite, multikey} = suiteFor(job.cryptosuite);
  const keyPair = await multikey.from(job.key);
  return new DataIntegrityProof({signer: keyPair.signer(), cryptosuite});
}

function outcome(result) {
  // the reference reports failures as Error objects nested in its results
  const errors = [];
  const collect = value => {
    if(value && typeof value === 'object') {
      if(value instanceof Error) {
        errors.push(value.message);
        if(Array.isArray(value.errors)) {
          value.errors.forEach(collect);
        }
        return;
      }
      Object.values(value).forEach(collect);
    }
  };
  collect(result.error);
  (result.results || []).forEach(r => collect(r.error));
  (result.presentationResult?.results || []).forEach(r => collect(r.error));
  (result.credentialResults || []).forEach(r => collect(r.error));
  // per embedded credential of a presentation (empty for a lone credential)
  const credentials = (result.credentialResults || []).map(r => r.verified === true);
  return {verified: result.verified === true, errors: [...new Set(errors)], credentials};
}

async function kidJwk(token, alg, documentLoader) {
  const {kid} = jose.decodeProtectedHeader(token);
  const {multikey} = Object.values(SUITES).find(suite => suite.alg === alg);
  const {document} = await documentLoader(kid);
  return multikey.toJwk({keyPair: await multikey.from(document)});
}

const OPS = {
  // A fresh key as a did:key: {did, key} where key is the exported multikey (with secret).
  async generate(job) {
    const {multikey} = suiteFor(job.cryptosuite);
    const keyPair = job.cryptosuite === 'ecdsa-rdfc-2019' ?
      await multikey.generate({curve: 'P-256'}) : await multikey.generate();
    const did = `did:key:${keyPair.publicKeyMultibase}`;
    keyPair.controller = did;
    keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
    const key = await keyPair.export({publicKey: true, secretKey: true, includeContext: true});
    const publicJwk = await multikey.toJwk({keyPair});
    return {did, key, publicJwk};
  },

  async issue(job, documentLoader) {
    const suite = await signingSuite(job);
    const credential = await vc.issue({credential: job.credential, suite, documentLoader});
    return {credential};
  },

  async verifyCredential(job, documentLoader) {
    return outcome(await vc.verifyCredential(
      {credential: job.credential, suite: verifySuites(), documentLoader}));
  },

  async signPresentation(job, documentLoader) {
    const suite = await signingSuite(job);
    const presentation = await vc.signPresentation({
      presentation: job.presentation, suite, documentLoader,
      challenge: job.challenge, domain: job.domain
    });
    return {presentation};
  },

  async verifyPresentation(job, documentLoader) {
    const presentationPurpose = new AuthenticationProofPurpose(
      {challenge: job.challenge, domain: job.domain});
    return outcome(await vc.verify({
      presentation: job.presentation, suite: verifySuites(), documentLoader,
      presentationPurpose
    }));
  },

  // vc+jwt with panva jose: sign with the generated key, kid = its did:key URL.
  async joseSign(job) {
    const {multikey, alg} = suiteFor(job.cryptosuite);
    const keyPair = await multikey.from(job.key);
    const jwk = await multikey.toJwk({keyPair, secretKey: true});
    if(jwk.crv === 'Ed25519') {
      // ed25519-multikey puts the 64-byte secret (seed || public key) in `d`;
      // RFC 8037 wants the 32-byte seed, which is what jose imports
      jwk.d = Buffer.from(jwk.d, 'base64url').subarray(0, 32).toString('base64url');
    }
    const privateKey = await jose.importJWK(jwk, alg);
    const payload = new TextEncoder().encode(JSON.stringify(job.payload));
    const token = await new jose.CompactSign(payload)
      .setProtectedHeader({alg, typ: 'vc+jwt', cty: 'vc', kid: keyPair.id})
      .sign(privateKey);
    return {token};
  },

  // Verify with the given public JWK, or (no `jwk`) with the key the did:key driver
  // resolves for the token's kid.
  async joseVerify(job, documentLoader) {
    const jwk = job.jwk || await kidJwk(job.token, job.alg, documentLoader);
    const publicKey = await jose.importJWK(jwk, job.alg);
    try {
      const {payload, protectedHeader} = await jose.compactVerify(
        job.token, publicKey, {algorithms: [job.alg]});
      if(protectedHeader.typ !== 'vc+jwt') {
        return {verified: false, errors: [`typ is ${protectedHeader.typ}, not vc+jwt`]};
      }
      return {
        verified: true, errors: [], header: protectedHeader,
        payload: JSON.parse(new TextDecoder().decode(payload))
      };
    } catch(error) {
      return {verified: false, errors: [`${error.code}: ${error.message}`]};
    }
  }
};

async function main() {
  const [contextsDir, jobsFile, resultsFile] = process.argv.slice(2);
  if(!resultsFile) {
    throw new Error('usage: node reference.mjs CONTEXTS_DIR JOBS.json RESULTS.json');
  }
  const index = JSON.parse(await readFile(path.join(contextsDir, 'index.json'), 'utf8'));
  const documentLoader = makeDocumentLoader(contextsDir, index);
  const jobs = JSON.parse(await readFile(jobsFile, 'utf8'));
  const results = [];
  for(const job of jobs) {
    const op = OPS[job.op];
    try {
      if(!op) {
        throw new Error(`unknown op ${job.op}`);
      }
      results.push(await op(job, documentLoader));
    } catch(error) {
      results.push({error: `${error.name}: ${error.message}`});
    }
  }
  await writeFile(resultsFile, JSON.stringify(results, null, 2) + '\n', 'utf8');
}

await main();
