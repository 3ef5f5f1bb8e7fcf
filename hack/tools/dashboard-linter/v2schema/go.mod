// Stands in for github.com/grafana/grafana/apps/dashboard, which the dashboard linter imports only to
// read Grafana's v2 dashboard schema and whose pinned version the module proxy does not serve.
module github.com/grafana/grafana/apps/dashboard

go 1.26.0
