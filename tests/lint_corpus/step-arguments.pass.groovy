pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                timeout(time: 5, unit: 'MINUTES') {
                    sh label: 'build', script: './build.sh', returnStatus: true
                }
                sleep 5
                retry(2) { echo 'x' }
            }
        }
    }
}
