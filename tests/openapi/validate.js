// Validates an OpenAPI 3 document (a file) with @apidevtools/swagger-parser: against the
// OpenAPI 3.0 schema and its own semantic rules (unique operation ids, declared path
// parameters, resolvable references). usage: node validate.js FILE
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');
const file = process.argv[2];
SwaggerParser.validate(file)
  .then((api) => {
    const operations = Object.values(api.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    console.log(`valid OpenAPI ${api.openapi}: ${Object.keys(api.paths).length} paths, ${operations} operations`);
  })
  .catch((error) => {
    console.error(`not valid: ${error.message}`);
    process.exit(1);
  });
