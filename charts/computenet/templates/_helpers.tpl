{{/* Names and labels shared by every template. */}}

{{- define "computenet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: <release>-computenet, or the release name alone when it already
contains the chart name. Truncated to 63 characters because some Kubernetes name fields are limited
to that (DNS label).
*/}}
{{- define "computenet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "computenet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "computenet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "computenet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "computenet.labels" -}}
helm.sh/chart: {{ include "computenet.chart" . }}
{{ include "computenet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: computenet
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "computenet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "computenet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "computenet.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Checks of values that JSON Schema cannot express; included by the Deployment. */}}
{{- define "computenet.validate" -}}
{{- if eq (int .Values.operator.metricsPort) (int .Values.operator.healthPort) }}
{{- fail "operator.metricsPort and operator.healthPort must differ" }}
{{- end }}
{{- $le := .Values.leaderElection }}
{{- if and (gt (int .Values.replicaCount) 1) (not $le.enabled) }}
{{- fail "replicaCount 2 needs leaderElection.enabled: two replicas without the Lease would both dispatch" }}
{{- end }}
{{- if and $le.enabled (ge (addf $le.renewDeadlineSeconds $le.retryPeriodSeconds) (float64 $le.leaseDurationSeconds)) }}
{{- fail "leaderElection.renewDeadlineSeconds + retryPeriodSeconds must be less than leaseDurationSeconds: a leader that cannot renew must stop before a standby may take over" }}
{{- end }}
{{- if and $le.enabled (le (float64 $le.renewDeadlineSeconds) (mulf 1.2 $le.retryPeriodSeconds)) }}
{{- fail "leaderElection.renewDeadlineSeconds must be greater than 1.2 x retryPeriodSeconds (client-go's JitterFactor)" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor scrapes that Service" }}
{{- end }}
{{- if and .Values.clusterProfileImport.enabled (not .Values.clusterProfileImport.providers) }}
{{- fail "clusterProfileImport.enabled needs clusterProfileImport.providers: without one no ClusterProfile can be imported" }}
{{- end }}
{{- end }}

{{- /*
The Cluster Inventory API's access-provider file (JSON) the ClusterProfile importer reads, and where
the operator finds it.
*/}}
{{- define "computenet.clusterProfileProviders" -}}
{{ dict "providers" .Values.clusterProfileImport.providers | toPrettyJson }}
{{- end }}

{{- define "computenet.clusterProfileProvidersDir" -}}
/etc/computenet/cluster-profile-import
{{- end }}

{{- define "computenet.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (include "computenet.fullname" .) }}
{{- end }}
