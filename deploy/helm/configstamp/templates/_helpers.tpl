{{/* Labels on every object: the same keys deploy/base uses, plus Helm's own. */}}
{{- define "configstamp.labels" -}}
app.kubernetes.io/name: configstamp
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: configstamp
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | quote }}
{{- end -}}

{{/* Selector labels: fixed, so a Deployment's selector never changes across upgrades. */}}
{{- define "configstamp.selectorLabels" -}}
app.kubernetes.io/name: configstamp
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{- define "configstamp.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* The policy flags both the webhook and the watcher take (shared/config/common.ts). */}}
{{- define "configstamp.policyArgs" -}}
{{- $p := .Values.policy -}}
- {{ printf "--log-level=%v" (.Values.logLevel) | quote }}
- {{ printf "--hash-key-secret=%v" (.Values.hashKeySecret) | quote }}
- {{ printf "--track-all=%v" ($p.trackAll) | quote }}
- {{ printf "--reloader-compat=%v" ($p.reloaderCompat) | quote }}
- {{ printf "--wave-compat=%v" ($p.waveCompat) | quote }}
{{- with $p.namespacesToIgnore }}
- {{ printf "--namespaces-to-ignore=%v" (join "," .) | quote }}
{{- end }}
{{- with $p.namespaceSelector }}
- {{ printf "--namespace-selector=%v" (.) | quote }}
{{- end }}
{{- with $p.resourceLabelSelector }}
- {{ printf "--resource-label-selector=%v" (.) | quote }}
{{- end }}
{{- with $p.resourcesToIgnore }}
- {{ printf "--resources-to-ignore=%v" (join "," .) | quote }}
{{- end }}
{{- with $p.ignoredWorkloadTypes }}
- {{ printf "--ignored-workload-types=%v" (join "," .) | quote }}
{{- end }}
{{- end -}}

{{/* configstamp's own namespace, from the downward API (the --namespace flag's variable). */}}
{{- define "configstamp.namespaceEnv" -}}
- name: CONFIGSTAMP_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end -}}

{{- define "configstamp.antiAffinity" -}}
{{- if .affinity -}}
{{ toYaml .affinity }}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "configstamp.selectorLabels" .component | nindent 12 }}
{{- end -}}
{{- end -}}

{{/* The certs pod spec, shared by the install Job and the rotation CronJob. */}}
{{- define "configstamp.certsPodSpec" -}}
serviceAccountName: configstamp-certs
restartPolicy: OnFailure
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml (omit .Values.podSecurityContext "fsGroup") | nindent 2 }}
{{- with .Values.certs.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.certs.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: certs
    image: {{ include "configstamp.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - certs
      - {{ printf "--log-level=%v" (.Values.logLevel) | quote }}
      - {{ printf "--hash-key-secret=%v" (.Values.hashKeySecret) | quote }}
      {{- if .Values.certManager.enabled }}
      - --hash-key-only
      {{- else }}
      {{- with .Values.certs.extraDnsNames }}
      - {{ printf "--extra-dns-names=%v" (join "," .) | quote }}
      {{- end }}
      {{- with .Values.certs.extraIpAddresses }}
      - {{ printf "--extra-ip-addresses=%v" (join "," .) | quote }}
      {{- end }}
      {{- with .Values.certs.certValidity }}
      - {{ printf "--cert-validity=%v" (.) | quote }}
      {{- end }}
      {{- with .Values.certs.certRenewBefore }}
      - {{ printf "--cert-renew-before=%v" (.) | quote }}
      {{- end }}
      {{- end }}
    env:
      {{- include "configstamp.namespaceEnv" . | nindent 6 }}
    resources:
      {{- toYaml .Values.certs.resources | nindent 6 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
{{- end -}}
