// Package v2 declares the few v2 dashboard schema types the dashboard linter names, so the linter
// builds without the Grafana module it would import them from. It reads no v2 dashboard: decoding one
// fails with an error saying so. The chart's dashboards use the classic schema, which the linter reads
// with its own types, so every rule still runs over them.
package v2

import "errors"

// errV2Unsupported is what the linter reports for a dashboard of the v2 schema.
var errV2Unsupported = errors.New("this build of the dashboard linter reads the classic dashboard schema only, not v2")

// DashboardSpec is the top of a v2 dashboard; decoding one always fails.
type DashboardSpec struct {
	Title       string
	Editable    *bool
	Elements    map[string]DashboardElement
	Variables   []DashboardVariableKind
	Annotations []DashboardAnnotationQueryKind
}

// UnmarshalJSON refuses every v2 dashboard.
func (*DashboardSpec) UnmarshalJSON([]byte) error { return errV2Unsupported }

type DashboardElement struct{ PanelKind *DashboardPanelKind }

type DashboardPanelKind struct{ Spec DashboardPanelSpec }

type DashboardPanelSpec struct {
	Id          float64
	Title       string
	Description string
	VizConfig   DashboardVizConfigKind
	Data        DashboardQueryGroupKind
}

type DashboardVizConfigKind struct {
	Group string
	Spec  DashboardVizConfigSpec
}

type DashboardVizConfigSpec struct {
	FieldConfig map[string]interface{}
	Options     map[string]interface{}
}

type DashboardQueryGroupKind struct{ Spec DashboardQueryGroupSpec }

type DashboardQueryGroupSpec struct{ Queries []DashboardPanelQueryKind }

type DashboardPanelQueryKind struct{ Spec DashboardPanelQuerySpec }

type DashboardPanelQuerySpec struct {
	RefId  string
	Hidden bool
	Query  DashboardDataQueryKind
}

type DashboardDataQueryKind struct {
	Group      string
	Datasource *DashboardDataQueryKindDatasource
	Spec       map[string]interface{}
}

type DashboardDataQueryKindDatasource struct{ Name *string }

type DashboardVariableRefresh string

const (
	DashboardVariableRefreshNever              DashboardVariableRefresh = "never"
	DashboardVariableRefreshOnDashboardLoad    DashboardVariableRefresh = "onDashboardLoad"
	DashboardVariableRefreshOnTimeRangeChanged DashboardVariableRefresh = "onTimeRangeChanged"
)

type DashboardVariableKind struct {
	QueryVariableKind      *QueryVariableKind
	DatasourceVariableKind *DatasourceVariableKind
	CustomVariableKind     *OptionsVariableKind
	IntervalVariableKind   *PlainVariableKind
	ConstantVariableKind   *PlainVariableKind
	TextVariableKind       *PlainVariableKind
	AdhocVariableKind      *PlainVariableKind
	GroupByVariableKind    *OptionsVariableKind
	SwitchVariableKind     *PlainVariableKind
}

type QueryVariableKind struct{ Spec QueryVariableSpec }

type QueryVariableSpec struct {
	Name     string
	Label    *string
	Multi    bool
	AllValue *string
	Refresh  DashboardVariableRefresh
	Query    DashboardDataQueryKind
}

type DatasourceVariableKind struct{ Spec DatasourceVariableSpec }

type DatasourceVariableSpec struct {
	Name     string
	Label    *string
	Multi    bool
	AllValue *string
	Refresh  DashboardVariableRefresh
	PluginId string
}

type OptionsVariableKind struct{ Spec OptionsVariableSpec }

type OptionsVariableSpec struct {
	Name     string
	Label    *string
	Multi    bool
	AllValue *string
	Query    string
}

type PlainVariableKind struct{ Spec PlainVariableSpec }

type PlainVariableSpec struct {
	Name  string
	Label *string
	Query string
}

type DashboardAnnotationQueryKind struct{ Spec DashboardAnnotationQuerySpec }

type DashboardAnnotationQuerySpec struct {
	Name  string
	Query DashboardDataQueryKind
}
