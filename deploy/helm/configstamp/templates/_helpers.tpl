{{/*
Labels on every object: the same keys deploy/base uses, plus Helm's own, then commonLabels, then
`extra` (the watcher's share of Reloader's reloader.deployment.labels). A key set earlier wins, so
neither commonLabels nor a Reloader label can change the name/component pair selectors use.
*/}}
{{- define "configstamp.labels" -}}
{{- $base := dict
  "app.kubernetes.io/name" "configstamp"
  "app.kubernetes.io/component" .component
  "app.kubernetes.io/part-of" "configstamp"
  "app.kubernetes.io/version" (toString .root.Chart.AppVersion)
  "app.kubernetes.io/managed-by" .root.Release.Service
  "helm.sh/chart" (printf "%s-%s" .root.Chart.Name .root.Chart.Version) -}}
{{- toYaml (merge $base (deepCopy (.root.Values.commonLabels | default dict)) (deepCopy (.extra | default dict))) -}}
{{- end -}}

{{/* Selector labels: fixed, so a Deployment's selector never changes across upgrades. */}}
{{- define "configstamp.selectorLabels" -}}
app.kubernetes.io/name: configstamp
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{/*
The image. A Reloader values file given as is carries Reloader's own image block (image.name,
repository ghcr.io/stakater/reloader, a v1.x tag); configstamp's image is used instead, since
Reloader's binary does not take configstamp's flags.
*/}}
{{- define "configstamp.image" -}}
{{- $i := .Values.image -}}
{{- if or $i.name (contains "stakater/reloader" (toString $i.repository)) -}}
ghcr.io/configstamp/configstamp:{{ .Chart.AppVersion }}
{{- else if $i.digest -}}
{{ $i.repository }}@{{ $i.digest }}
{{- else -}}
{{ $i.repository }}:{{ default .Chart.AppVersion $i.tag }}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets, or Reloader's global.imagePullSecrets (names or {name: ...} maps). */}}
{{- define "configstamp.imagePullSecrets" -}}
{{- $secrets := .Values.imagePullSecrets | default list -}}
{{- if not $secrets -}}
{{- range (dig "imagePullSecrets" list (.Values.global | default dict)) -}}
{{- $secrets = append $secrets (kindIs "string" . | ternary (dict "name" .) .) -}}
{{- end -}}
{{- end -}}
{{- with $secrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* A YAML list or a comma string (as Reloader's chart takes reloader.namespaces) → trimmed, non-empty entries, as JSON. */}}
{{- define "configstamp.list" -}}
{{- $in := . | default list -}}
{{- if kindIs "string" $in -}}
{{- $in = splitList "," $in -}}
{{- end -}}
{{- $out := list -}}
{{- range $in -}}
{{- $t := toString . | trim -}}
{{- if $t -}}
{{- $out = append $out $t -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Whether a Reloader value is true (its chart compares with `eq ... true`; "true" works too). */}}
{{- define "configstamp.isTrue" -}}
{{- if eq (toString .) "true" }}true{{ end -}}
{{- end -}}

{{/*
The namespaces in scope, sorted and deduplicated, as JSON; [] is a cluster-wide install.
namespaces wins; else Reloader's reloader.namespaces; else, with reloader.watchGlobally false,
the release namespace (Reloader then sets KUBERNETES_NAMESPACE to its own namespace).
*/}}
{{- define "configstamp.scope" -}}
{{- $r := .Values.reloader | default dict -}}
{{- $ns := include "configstamp.list" .Values.namespaces | fromJsonArray -}}
{{- if not $ns -}}
{{- $ns = include "configstamp.list" $r.namespaces | fromJsonArray -}}
{{- end -}}
{{- if and (not $ns) (hasKey $r "watchGlobally") (eq (toString $r.watchGlobally) "false") -}}
{{- $ns = list .Release.Namespace -}}
{{- end -}}
{{- $ns | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* The ServiceAccount of a process: serviceAccount.names.<process>, else Reloader's name (watcher), else configstamp-<process>. */}}
{{- define "configstamp.serviceAccountName" -}}
{{- $name := dig "names" .component "" (.root.Values.serviceAccount | default dict) -}}
{{- $rsa := dig "serviceAccount" dict (.root.Values.reloader | default dict) -}}
{{- if and (not $name) (eq .component "watcher") $rsa.name (ne (toString $rsa.create) "false") -}}
{{- $name = $rsa.name -}}
{{- end -}}
{{- default (printf "configstamp-%s" .component) $name -}}
{{- end -}}

{{/* Own values first: each key of `from` fills the same key of `own` only where `own`'s is empty. JSON. */}}
{{- define "configstamp.fill" -}}
{{- $out := deepCopy (.own | default dict) -}}
{{- range $k, $v := (.from | default dict) -}}
{{- if and (empty (get $out $k)) (not (empty $v)) -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Reloader's custom_annotations keys and the flags they become (both processes: annotation keys are
policy). Keep in step with KEY_FLAGS and UNREAD_KEY_FLAGS in shared/config/common.ts.
*/}}
{{- define "configstamp.reloaderAnnotationFlags" -}}
configmap: configmap-annotation
secret: secret-annotation
auto: auto-annotation
secret_auto: secret-auto-annotation
configmap_auto: configmap-auto-annotation
configmap_exclude: configmap-exclude-annotation
secret_exclude: secret-exclude-annotation
search: auto-search-annotation
match: search-match-annotation
ignore: ignore-annotation
pausePeriod: pause-deployment-annotation
pauseTime: pause-deployment-time-annotation
secretproviderclass: secretproviderclass-annotation
secretproviderclass_auto: secretproviderclass-auto-annotation
secretproviderclass_exclude: secretproviderclass-exclude-annotation
{{- end -}}

{{/* The chart's default watcher.resources and revisionHistoryLimit: Reloader's values replace these, never a value you set. */}}
{{- define "configstamp.watcherDefaults" -}}
resources:
  requests: { cpu: 50m, memory: 128Mi }
  limits: { cpu: "1", memory: 512Mi }
revisionHistoryLimit: 3
{{- end -}}

{{/*
Everything that depends on more than one value, resolved once, as JSON: configstamp's own values,
and where one is empty (or still at its chart default) the matching Reloader value under
reloader: (docs/install.md, "Reloader's Helm values", has the table).
  logLevel, logFormat, scope   what every process gets
  policyArgs                   the policy flags both the webhook and the watcher take
  watcherArgs, watcherEnv      the watcher's own flags and Reloader's env entries
  watcherEnvSecret             the Secret data behind reloader.deployment.env.secret
  watcher                      the watcher's pod-level settings
  metrics, imagePullSecrets
*/}}
{{- define "configstamp.settings" -}}
{{- $v := .Values -}}
{{- $p := $v.policy -}}
{{- $r := $v.reloader | default dict -}}
{{- $rd := $r.deployment | default dict -}}
{{- $scope := include "configstamp.scope" . | fromJsonArray -}}
{{- $logLevel := $v.logLevel -}}
{{- if and (eq $logLevel "info") $r.logLevel -}}
{{- $logLevel = $r.logLevel -}}
{{- end -}}
{{- $logFormat := default (toString ($r.logFormat | default "")) $v.logFormat -}}

{{- /* the policy flags */ -}}
{{- $pa := list (printf "--log-level=%v" $logLevel) (printf "--hash-key-secret=%v" $v.hashKeySecret) -}}
{{- if $logFormat -}}
{{- $pa = append $pa (printf "--log-format=%v" $logFormat) -}}
{{- end -}}
{{- $pa = append $pa (printf "--track-all=%v" (or $p.trackAll (eq (include "configstamp.isTrue" $r.autoReloadAll) "true"))) -}}
{{- $pa = append $pa (printf "--reloader-compat=%v" $p.reloaderCompat) -}}
{{- $pa = append $pa (printf "--wave-compat=%v" $p.waveCompat) -}}
{{- with $scope -}}
{{- $pa = append $pa (printf "--namespaces=%v" (join "," .)) -}}
{{- end -}}
{{- $ignoreNs := $p.namespacesToIgnore | default (include "configstamp.list" $r.ignoreNamespaces | fromJsonArray) -}}
{{- with $ignoreNs -}}
{{- $pa = append $pa (printf "--namespaces-to-ignore=%v" (join "," .)) -}}
{{- end -}}
{{- $nsSelector := $p.namespaceSelector -}}
{{- if and (not $nsSelector) (not $scope) -}}
{{- $nsSelector = toString ($r.namespaceSelector | default "") | trim -}}
{{- end -}}
{{- with $nsSelector -}}
{{- $pa = append $pa (printf "--namespace-selector=%v" .) -}}
{{- end -}}
{{- with ($p.resourceLabelSelector | default (toString ($r.resourceLabelSelector | default "") | trim)) -}}
{{- $pa = append $pa (printf "--resource-label-selector=%v" .) -}}
{{- end -}}
{{- $ignoreRes := $p.resourcesToIgnore | default list -}}
{{- if not $ignoreRes -}}
{{- if include "configstamp.isTrue" $r.ignoreConfigMaps }}{{ $ignoreRes = append $ignoreRes "configmaps" }}{{ end -}}
{{- if include "configstamp.isTrue" $r.ignoreSecrets }}{{ $ignoreRes = append $ignoreRes "secrets" }}{{ end -}}
{{- end -}}
{{- with $ignoreRes -}}
{{- $pa = append $pa (printf "--resources-to-ignore=%v" (join "," .)) -}}
{{- end -}}
{{- $ignoreKinds := $p.ignoredWorkloadTypes | default list -}}
{{- if not $ignoreKinds -}}
{{- if include "configstamp.isTrue" $r.ignoreJobs }}{{ $ignoreKinds = append $ignoreKinds "jobs" }}{{ end -}}
{{- if include "configstamp.isTrue" $r.ignoreCronJobs }}{{ $ignoreKinds = append $ignoreKinds "cronjobs" }}{{ end -}}
{{- end -}}
{{- with $ignoreKinds -}}
{{- $pa = append $pa (printf "--ignored-workload-types=%v" (join "," .)) -}}
{{- end -}}
{{- with $p.extraWorkloadKinds -}}
{{- $pa = append $pa (printf "--extra-workload-kinds=%v" (join "," .)) -}}
{{- end -}}
{{- if include "configstamp.isTrue" $p.recreateJobs -}}
{{- $pa = append $pa "--recreate-jobs=true" -}}
{{- end -}}
{{- if hasKey $r "isArgoRollouts" -}}
{{- $pa = append $pa (printf "--is-Argo-Rollouts=%v" (eq (include "configstamp.isTrue" $r.isArgoRollouts) "true")) -}}
{{- end -}}
{{- if include "configstamp.isTrue" $r.isOpenshift -}}
{{- $pa = append $pa "--is-openshift=true" -}}
{{- end -}}
{{- if hasKey $r "enableCSIIntegration" -}}
{{- $pa = append $pa (printf "--enable-csi-integration=%v" (eq (include "configstamp.isTrue" $r.enableCSIIntegration) "true")) -}}
{{- end -}}
{{- $custom := $r.custom_annotations | default dict -}}
{{- range $key, $flag := (include "configstamp.reloaderAnnotationFlags" . | fromYaml) -}}
{{- with (get $custom $key) -}}
{{- $pa = append $pa (printf "--%s=%v" $flag .) -}}
{{- end -}}
{{- end -}}

{{- /* the watcher's own flags */ -}}
{{- $w := $v.watcher -}}
{{- $wa := list (printf "--roll-on-delete=%v" (or $w.rollOnDelete (eq (include "configstamp.isTrue" $r.reloadOnDelete) "true"))) -}}
{{- if or $w.metricsByNamespace (include "configstamp.isTrue" $r.enableMetricsByNamespace) -}}
{{- $wa = append $wa "--metrics-count-by-namespace=enabled" -}}
{{- end -}}
{{- if and $r.reloadStrategy (ne (toString $r.reloadStrategy) "default") -}}
{{- $wa = append $wa (printf "--reload-strategy=%v" $r.reloadStrategy) -}}
{{- end -}}
{{- if include "configstamp.isTrue" $r.reloadOnCreate -}}
{{- $wa = append $wa "--reload-on-create=true" -}}
{{- end -}}
{{- if include "configstamp.isTrue" $r.syncAfterRestart -}}
{{- $wa = append $wa "--sync-after-restart=true" -}}
{{- end -}}
{{- if include "configstamp.isTrue" $r.enablePProf -}}
{{- $wa = append $wa "--enable-pprof=true" -}}
{{- with $r.pprofAddr }}{{ $wa = append $wa (printf "--pprof-addr=%v" .) }}{{ end -}}
{{- end -}}
{{- with $r.webhookUrl -}}
{{- $wa = append $wa (printf "--webhook-url=%v" .) -}}
{{- end -}}
{{- if include "configstamp.isTrue" $r.enableRestartWindows -}}
{{- $wa = append $wa "--enable-restart-windows=true" -}}
{{- end -}}

{{- /* Reloader's env entries for the watcher; a name the chart or watcher.extraEnv already sets is skipped */ -}}
{{- $taken := list "CONFIGSTAMP_NAMESPACE" "CONFIGSTAMP_IDENTITY" "NODE_OPTIONS" -}}
{{- range ($w.extraEnv | default list) }}{{ $taken = append $taken .name }}{{ end -}}
{{- $renv := $rd.env | default dict -}}
{{- $env := list -}}
{{- $envSecret := dict -}}
{{- range $name, $value := ($renv.open | default dict) -}}
{{- if and (not (empty $value)) (not (has $name $taken)) -}}
{{- $env = append $env (dict "name" $name "value" (toString $value)) -}}
{{- $taken = append $taken $name -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := ($renv.secret | default dict) -}}
{{- if and (not (empty $value)) (not (has $name $taken)) -}}
{{- $env = append $env (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" "configstamp-watcher-env" "key" $name))) -}}
{{- $_ := set $envSecret $name (toString $value) -}}
{{- $taken = append $taken $name -}}
{{- end -}}
{{- end -}}
{{- range $secret, $vars := ($renv.existing | default dict) -}}
{{- range $name, $key := ($vars | default dict) -}}
{{- if and $name (not (has $name $taken)) -}}
{{- $env = append $env (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" (toString $key)))) -}}
{{- $taken = append $taken $name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $path := ($renv.field | default dict) -}}
{{- if and (not (empty $path)) (not (has $name $taken)) -}}
{{- $env = append $env (dict "name" $name "valueFrom" (dict "fieldRef" (dict "fieldPath" (toString $path)))) -}}
{{- $taken = append $taken $name -}}
{{- end -}}
{{- end -}}

{{- /* the watcher's pod: own values, Reloader's reloader.deployment.* where ours are empty */ -}}
{{- $defaults := include "configstamp.watcherDefaults" . | fromYaml -}}
{{- $own := dict
  "nodeSelector" $w.nodeSelector "tolerations" $w.tolerations "affinity" $w.affinity
  "topologySpreadConstraints" $w.topologySpreadConstraints "priorityClassName" $w.priorityClassName
  "volumes" $w.extraVolumes "volumeMounts" $w.extraVolumeMounts -}}
{{- $fromReloader := dict
  "nodeSelector" $rd.nodeSelector "tolerations" $rd.tolerations "affinity" $rd.affinity
  "topologySpreadConstraints" $rd.topologySpreadConstraints "priorityClassName" $rd.priorityClassName
  "volumes" $rd.volumes "volumeMounts" $rd.volumeMounts -}}
{{- $watcher := include "configstamp.fill" (dict "own" $own "from" $fromReloader) | fromJson -}}
{{- $_ := set $watcher "resources" $w.resources -}}
{{- if and (eq (toJson $w.resources) (toJson $defaults.resources)) $rd.resources -}}
{{- $_ := set $watcher "resources" $rd.resources -}}
{{- end -}}
{{- $_ := set $watcher "revisionHistoryLimit" $w.revisionHistoryLimit -}}
{{- if and (eq (toString $w.revisionHistoryLimit) (toString $defaults.revisionHistoryLimit)) (not (kindIs "invalid" $rd.revisionHistoryLimit)) (hasKey $rd "revisionHistoryLimit") -}}
{{- $_ := set $watcher "revisionHistoryLimit" $rd.revisionHistoryLimit -}}
{{- end -}}
{{- /* Reloader's chart default labels (provider: stakater, group: com.stakater.platform, version: <Reloader's>) describe Reloader, not this pod */ -}}
{{- $rlabels := dict -}}
{{- range $k, $l := ($rd.labels | default dict) -}}
{{- if not (or (and (eq $k "provider") (eq (toString $l) "stakater")) (and (eq $k "group") (eq (toString $l) "com.stakater.platform")) (and (eq $k "version") (regexMatch "^v[0-9]+\\." (toString $l)))) -}}
{{- $_ := set $rlabels $k (toString $l) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $watcher "labels" $rlabels -}}
{{- $_ := set $watcher "annotations" ($rd.annotations | default dict) -}}
{{- $_ := set $watcher "podAnnotations" (merge (deepCopy ($w.podAnnotations | default dict)) (deepCopy (dig "pod" "annotations" dict $rd))) -}}
{{- $_ := set $watcher "dnsConfig" ($rd.dnsConfig | default dict) -}}
{{- $_ := set $watcher "runtimeClassName" ($rd.runtimeClassName | default "") -}}
{{- $_ := set $watcher "schedulerName" ($rd.schedulerName | default "") -}}
{{- $rsa := $r.serviceAccount | default dict -}}
{{- $_ := set $watcher "serviceAccountLabels" ($rsa.labels | default dict) -}}
{{- $_ := set $watcher "serviceAccountAnnotations" (merge (deepCopy (dig "annotations" dict ($v.serviceAccount | default dict))) (deepCopy ($rsa.annotations | default dict))) -}}
{{- $rpdb := $r.podDisruptionBudget | default dict -}}
{{- if or (not (kindIs "invalid" $w.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $w.podDisruptionBudget.maxUnavailable)) -}}
{{- $rpdb = omit $rpdb "minAvailable" "maxUnavailable" -}}
{{- end -}}
{{- $_ := set $watcher "podDisruptionBudget" (include "configstamp.fill" (dict "own" $w.podDisruptionBudget "from" $rpdb) | fromJson) -}}
{{- $_ := set $watcher "verticalPodAutoscaler" (include "configstamp.fill" (dict "own" $w.verticalPodAutoscaler "from" $r.verticalPodAutoscaler) | fromJson) -}}

{{- /* metrics: own values, Reloader's service / serviceMonitor / podMonitor where ours are empty */ -}}
{{- $m := $v.metrics -}}
{{- $rsvc := $r.service | default dict -}}
{{- $svc := include "configstamp.fill" (dict "own" $m.service "from" (dict "enabled" (not (empty $rsvc)) "labels" $rsvc.labels "annotations" $rsvc.annotations)) | fromJson -}}
{{- $rsm := deepCopy ($r.serviceMonitor | default dict) -}}
{{- if hasKey $rsm "timeout" }}{{ $_ := set $rsm "scrapeTimeout" $rsm.timeout }}{{ end -}}
{{- $sm := include "configstamp.fill" (dict "own" $m.serviceMonitor "from" (omit $rsm "timeout")) | fromJson -}}
{{- $rpm := deepCopy ($r.podMonitor | default dict) -}}
{{- if hasKey $rpm "timeout" }}{{ $_ := set $rpm "scrapeTimeout" $rpm.timeout }}{{ end -}}
{{- $pm := include "configstamp.fill" (dict "own" $m.podMonitor "from" (omit $rpm "timeout")) | fromJson -}}
{{- /* a ServiceMonitor scrapes through the metrics Services, so it brings them */ -}}
{{- if $sm.enabled }}{{ $_ := set $svc "enabled" true }}{{ end -}}

{{- toJson (dict
  "logLevel" $logLevel "logFormat" $logFormat "scope" $scope
  "policyArgs" $pa "watcherArgs" $wa "watcherEnv" $env "watcherEnvSecret" $envSecret
  "watcher" $watcher
  "metrics" (dict "service" $svc "serviceMonitor" $sm "podMonitor" $pm)) -}}
{{- end -}}

{{/* The policy flags both the webhook and the watcher take (shared/config/common.ts), as a YAML list. */}}
{{- define "configstamp.policyArgs" -}}
{{- range (include "configstamp.settings" . | fromJson).policyArgs }}
- {{ . | quote }}
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

{{/* topologySpreadConstraints; an entry without a labelSelector gets the process's selector labels. */}}
{{- define "configstamp.topologySpread" -}}
{{- $out := list -}}
{{- range .constraints -}}
{{- $c := deepCopy . -}}
{{- if not (hasKey $c "labelSelector") -}}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "configstamp.selectorLabels" $.component | fromYaml)) -}}
{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- with $out -}}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* The Roles' rules: what each process's ClusterRole grants, and in a scoped install each listed namespace's Role (no namespaces rule). */}}
{{- define "configstamp.webhookRules" -}}
- apiGroups: [""]
  resources: ["configmaps", "secrets"]
  verbs: ["get", "list"]
- apiGroups: ["secrets-store.csi.x-k8s.io"]
  resources: ["secretproviderclasspodstatuses"]
  verbs: ["list"]
{{- if .cluster }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}

{{- define "configstamp.watcherRules" -}}
- apiGroups: [""]
  resources: ["configmaps", "secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["secrets-store.csi.x-k8s.io"]
  resources: ["secretproviderclasspodstatuses"]
  verbs: ["list", "watch"]
{{- if .cluster }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "patch", "delete", "create"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["apps.openshift.io"]
  resources: ["deploymentconfigs"]
  verbs: ["get", "list", "watch", "patch"]
{{- range .extra }}
{{- $gvr := splitList "/" (first (splitList ":" .)) }}
- apiGroups: [{{ if eq (len $gvr) 3 }}{{ first $gvr | quote }}{{ else }}""{{ end }}]
  resources: [{{ last $gvr | quote }}]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* The certs pod spec, shared by the install Job and the rotation CronJob. */}}
{{- define "configstamp.certsPodSpec" -}}
{{- $s := include "configstamp.settings" . | fromJson -}}
serviceAccountName: {{ include "configstamp.serviceAccountName" (dict "root" . "component" "certs") }}
restartPolicy: OnFailure
{{- with include "configstamp.imagePullSecrets" . }}
{{ . }}
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
      - {{ printf "--log-level=%v" $s.logLevel | quote }}
      {{- with $s.logFormat }}
      - {{ printf "--log-format=%v" . | quote }}
      {{- end }}
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

{{/*
The webhook configuration's matchConditions (docs/webhook.md, "matchConditions"), as JSON:
  conditions   false with cluster-wide tracking (policy.trackAll, reloader.autoReloadAll) or
               webhook.matchConditions false: every workload is sent
  keys         the annotation keys that can make a workload tracked, as this install names them
               (shared/core/annotations.ts: the stamp, OUR_SELECTING_KEYS, selectingKeys() of
               Reloader's keys renamed by reloader.custom_annotations, Wave's), in that order
  paths        where pod templates sit: spec.template, a CronJob's, and any of
               policy.extraWorkloadKinds
Keep in step with deploy/base/mutatingwebhookconfiguration.yaml (test/e2e/manifests.test.ts).
*/}}
{{- define "configstamp.webhookMatch" -}}
{{- $p := .Values.policy -}}
{{- $r := .Values.reloader | default dict -}}
{{- $trackAll := or $p.trackAll (eq (include "configstamp.isTrue" $r.autoReloadAll) "true") -}}
{{- $keys := list "configstamp.io/stamp" "configstamp.io/track" "configstamp.io/configmaps" "configstamp.io/secrets" "configstamp.io/secretproviderclasses" -}}
{{- if $p.reloaderCompat -}}
{{- $custom := $r.custom_annotations | default dict -}}
{{- $reloader := list
  (list "auto" "reloader.stakater.com/auto")
  (list "configmap_auto" "configmap.reloader.stakater.com/auto")
  (list "secret_auto" "secret.reloader.stakater.com/auto")
  (list "secretproviderclass_auto" "secretproviderclass.reloader.stakater.com/auto")
  (list "configmap" "configmap.reloader.stakater.com/reload")
  (list "secret" "secret.reloader.stakater.com/reload")
  (list "secretproviderclass" "secretproviderclass.reloader.stakater.com/reload")
  (list "search" "reloader.stakater.com/search") -}}
{{- range $reloader -}}
{{- $keys = append $keys (get $custom (index . 0) | default "" | toString | trim | default (index . 1)) -}}
{{- end -}}
{{- end -}}
{{- if $p.waveCompat -}}
{{- $keys = concat $keys (list "wave.pusher.com/update-on-config-change" "wave.pusher.com/extra-configmaps" "wave.pusher.com/extra-secrets") -}}
{{- end -}}
{{- $paths := list "spec.template" "spec.jobTemplate.spec.template" -}}
{{- range $p.extraWorkloadKinds -}}
{{- $paths = append $paths (last (splitList ":" .)) -}}
{{- end -}}
{{- toJson (dict "conditions" (and (not $trackAll) .Values.webhook.matchConditions) "keys" (uniq $keys) "paths" (uniq $paths)) -}}
{{- end -}}

{{/*
The CEL expression of the matchCondition: the object or the old object has one of the keys in its
own annotations or in those of a pod template. Every field is tested with has() (objects of CRDs
are unstructured), and a value that is not a map counts as no annotations.
*/}}
{{- define "configstamp.matchExpression" -}}
{{- $maps := list -}}
{{- range (prepend .paths "") -}}
{{- $at := "o" -}}
{{- $checks := list -}}
{{- range (concat (compact (splitList "." .)) (list "metadata" "annotations")) -}}
{{- $at = printf "%s.%s" $at . -}}
{{- $checks = append $checks (printf "has(%s)" $at) -}}
{{- end -}}
{{- $maps = append $maps (printf "  %s ? %s : {}" (join " && " $checks) $at) -}}
{{- end -}}
{{- $keys := list -}}
{{- range .keys }}{{ $keys = append $keys (printf "  '%s'" .) }}{{ end -}}
[object, oldObject].exists(o, o != null && [
{{ join ",\n" $maps }}
].exists(a, type(a) == map && [
{{ join ",\n" $keys }}
].exists(k, k in a)))
{{- end -}}
